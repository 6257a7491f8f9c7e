export {
  KeyholdConfig,
  KeyholdConfigInput,
  InternalTls,
  Mode,
  ConfigError,
  buildConfig,
  loadConfig,
  CONFIG_ENV_NAMES,
  readSigningKey,
  secretEnv,
} from './config';
export { TokenKey, parseTokenKeys, legacyTokenKeyId, TOKEN_KEY_ID_RE, TOKEN_KEY_MIN_BYTES } from './token-keys';
export {
  OperatorTokenEntry,
  parseOperatorTokens,
  plainOperatorToken,
  matchOperatorToken,
  hashOperatorToken,
  operatorTokenEntryLine,
} from './operator-tokens';
export { ConfigModule, KEYHOLD_CONFIG, InjectConfig } from './config.module';

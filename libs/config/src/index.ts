export { KeyholdConfig, KeyholdConfigInput, InternalTls, Mode, ConfigError, buildConfig, loadConfig, CONFIG_ENV_NAMES, readSigningKey } from './config';

export { KeyholdConfig, KeyholdConfigInput, Mode, ConfigError, buildConfig, loadConfig, CONFIG_ENV_NAMES, readSigningKey } from './config';

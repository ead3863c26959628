import { registerAs } from '@nestjs/config';
import { gatewayConfig, type KeysConfig } from './gateway-config.js';

/** `@Inject(keysConfig.KEY) cfg: ConfigType<typeof keysConfig>` */
export const keysConfig = registerAs('keys', (): KeysConfig => gatewayConfig().keys);

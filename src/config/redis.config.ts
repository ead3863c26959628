import { registerAs } from '@nestjs/config';
import { gatewayConfig, type RedisConfig } from './gateway-config.js';

/** `@Inject(redisConfig.KEY) cfg: ConfigType<typeof redisConfig>` */
export const redisConfig = registerAs('redis', (): RedisConfig => gatewayConfig().redis);

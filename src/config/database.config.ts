import { registerAs } from '@nestjs/config';
import { gatewayConfig, type DatabaseConfig } from './gateway-config.js';

/** `@Inject(databaseConfig.KEY) cfg: ConfigType<typeof databaseConfig>` */
export const databaseConfig = registerAs('database', (): DatabaseConfig => gatewayConfig().database);

import { registerAs } from '@nestjs/config';
import { gatewayConfig, type AppConfig } from './gateway-config.js';

/** `@Inject(appConfig.KEY) cfg: ConfigType<typeof appConfig>` */
export const appConfig = registerAs('app', (): AppConfig => gatewayConfig().app);

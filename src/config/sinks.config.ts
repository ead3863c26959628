import { registerAs } from '@nestjs/config';
import { gatewayConfig } from './gateway-config.js';
import type { SinksConfig } from './audit-sinks.js';

/** `@Inject(sinksConfig.KEY) cfg: ConfigType<typeof sinksConfig>` */
export const sinksConfig = registerAs('sinks', (): SinksConfig => gatewayConfig().sinks);

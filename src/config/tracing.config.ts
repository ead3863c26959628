import { registerAs } from '@nestjs/config';
import { gatewayConfig, type TracingConfig } from './gateway-config.js';

/** `@Inject(tracingConfig.KEY) cfg: ConfigType<typeof tracingConfig>` */
export const tracingConfig = registerAs('tracing', (): TracingConfig => gatewayConfig().tracing);

import { registerAs } from '@nestjs/config';
import { gatewayConfig, type IdempotencyConfig } from './gateway-config.js';

/** `@Inject(idempotencyConfig.KEY) cfg: ConfigType<typeof idempotencyConfig>` */
export const idempotencyConfig = registerAs('idempotency', (): IdempotencyConfig => gatewayConfig().idempotency);

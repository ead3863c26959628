import { registerAs } from '@nestjs/config';
import { gatewayConfig, type AuditConfig } from './gateway-config.js';

/** `@Inject(auditConfig.KEY) cfg: ConfigType<typeof auditConfig>` */
export const auditConfig = registerAs('audit', (): AuditConfig => gatewayConfig().audit);

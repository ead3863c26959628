import { registerAs } from '@nestjs/config';
import { gatewayConfig, type DifyConfig } from './gateway-config.js';

/** `@Inject(difyConfig.KEY) cfg: ConfigType<typeof difyConfig>` */
export const difyConfig = registerAs('dify', (): DifyConfig => gatewayConfig().dify);

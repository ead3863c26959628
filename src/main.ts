import { Logger } from '@nestjs/common';
import { createGatewayApp, exitGracefullyOnSignals } from './bootstrap.js';
import { redactText } from './common/redact.js';
import { gatewayConfig } from './config/gateway-config.js';

async function main(): Promise<void> {
  const app = await createGatewayApp();
  const { port, host, shutdownDrainMs } = gatewayConfig().app;
  exitGracefullyOnSignals(app, shutdownDrainMs);
  await app.listen(port, host);
  Logger.log(`listening on http://${host}:${port}`, 'Gateway');
}

main().catch((error: unknown) => {
  // Config errors name variables, never values; anything else is masked by the logger.
  console.error(`dify-gateway failed to start: ${redactText(error instanceof Error ? error.message : String(error))}`);
  process.exit(1);
});

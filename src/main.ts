import module from 'node:module';
import { redactText } from './common/redact.js';
import { gatewayConfig } from './config/gateway-config.js';

// Compiled code of the modules below is kept between boots (in the OS temp folder; a read-only one just skips it).
module.enableCompileCache?.();

async function main(): Promise<void> {
  // The environment is checked before Nest and the rest of the gateway load: a refused one fails in milliseconds.
  const { port, host, shutdownDrainMs } = gatewayConfig().app;
  const [{ Logger }, { createGatewayApp, exitGracefullyOnSignals }] = await Promise.all([import('@nestjs/common'), import('./bootstrap.js')]);
  const app = await createGatewayApp();
  exitGracefullyOnSignals(app, shutdownDrainMs);
  await app.listen(port, host);
  Logger.log(`listening on http://${host}:${port}`, 'Gateway');
}

main().catch((error: unknown) => {
  // Config errors name variables, never values; anything else is masked by the logger.
  console.error(`dify-gateway failed to start: ${redactText(error instanceof Error ? error.message : String(error))}`);
  process.exit(1);
});

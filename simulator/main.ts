/**
 * `npm run simulator`: a Dify simulator for local development and demos.
 *
 *   SIM_PORT      port to listen on (default 5001)
 *   SIM_HOST      interface (default 127.0.0.1)
 *   SIM_APP_KEY   app key(s), comma-separated, each optionally `key:mode` (default: one random chat key)
 *   SIM_ANSWER    canned answer text
 */
import { startDifySimulator, type SimulatorApp, type SimulatorAppMode } from './dify-simulator.js';

const MODES: SimulatorAppMode[] = ['chat', 'agent-chat', 'advanced-chat', 'workflow', 'completion'];

function appsFromEnv(value: string | undefined): SimulatorApp[] | undefined {
  if (!value?.trim()) return undefined;
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const colon = entry.lastIndexOf(':');
      const mode = colon > 0 ? entry.slice(colon + 1) : 'chat';
      if (!MODES.includes(mode as SimulatorAppMode)) {
        throw new Error(`SIM_APP_KEY: unknown app mode "${mode}" (expected one of ${MODES.join(', ')})`);
      }
      return { key: colon > 0 ? entry.slice(0, colon) : entry, mode: mode as SimulatorAppMode };
    });
}

async function main(): Promise<void> {
  const port = Number(process.env.SIM_PORT ?? 5001);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('SIM_PORT must be a port number');
  const sim = await startDifySimulator({
    port,
    host: process.env.SIM_HOST || '127.0.0.1',
    apps: appsFromEnv(process.env.SIM_APP_KEY),
    answer: process.env.SIM_ANSWER || undefined,
  });

  console.log(`Dify simulator listening on ${sim.url}`);
  for (const app of sim.apps) console.log(`  app key (${app.mode}): ${app.key}`);
  console.log('Press Ctrl+C to stop.');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal} received, stopping the simulator...`);
    sim.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

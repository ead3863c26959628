import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { findPackageRoot } from '../config/env.schema.js';
import { tracingConfig } from '../config/config-namespaces.js';
import { CallTracer, NoopCallTracer } from './call-tracer.js';

/**
 * The call tracer: the OpenTelemetry SDK when an OTLP endpoint is configured, else a no-op. The
 * SDK is imported only then (a dynamic import), so a gateway without tracing loads none of it.
 */
export async function createCallTracer(cfg: ConfigType<typeof tracingConfig>): Promise<CallTracer> {
  if (!cfg.enabled) return new NoopCallTracer();
  const { startOtelTracer } = await import('./otel-sdk.js');
  return startOtelTracer(packageVersion());
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(findPackageRoot(), 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Exports the spans still batched when the application closes (after the drain: the last calls' spans are ended). */
@Injectable()
class TracerShutdown implements OnApplicationShutdown {
  constructor(@Inject(CallTracer) private readonly tracer: CallTracer) {}

  async onApplicationShutdown(): Promise<void> {
    await this.tracer.shutdown();
  }
}

@Module({
  providers: [{ provide: CallTracer, inject: [tracingConfig.KEY], useFactory: createCallTracer }, TracerShutdown],
  exports: [CallTracer],
})
export class TracingModule {}

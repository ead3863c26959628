/**
 * The OpenTelemetry SDK, loaded (by tracing.module.ts, with a dynamic import) only when tracing
 * is on. `NodeSDK` reads the standard OTEL_* variables itself: exporter endpoint, headers,
 * protocol and timeout, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER(_ARG),
 * OTEL_BSP_* batching, span limits. Traces only: no metrics (those are Prometheus, /metrics), no
 * logs, no auto-instrumentation (it would cost CPU on the hot path and put raw URLs on spans).
 */
import { Logger } from '@nestjs/common';
import { context, diag, DiagLogLevel, propagation, trace, type DiagLogger } from '@opentelemetry/api';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { redactText } from '../common/redact.js';
import { CallTracer } from './call-tracer.js';
import { OtelCallTracer } from './otel-call-tracer.js';

const TRACER_NAME = 'dify-gateway';

/** The SDK's own warnings (an exporter that cannot reach its collector) in the gateway's log, masked. */
function diagLogger(): DiagLogger {
  const logger = new Logger('OpenTelemetry');
  const line =
    (level: 'warn' | 'error') =>
    (message: string, ...args: unknown[]) =>
      logger[level](redactText([message, ...args.map((arg) => (arg instanceof Error ? arg.message : String(arg)))].join(' ')));
  const quiet = () => undefined;
  return { error: line('error'), warn: line('warn'), info: quiet, debug: quiet, verbose: quiet };
}

export function startOtelTracer(version: string): CallTracer {
  // Before the SDK: OTEL_LOG_LEVEL, when set, replaces this with the SDK's console logger.
  diag.setLogger(diagLogger(), DiagLogLevel.WARN);
  const sdk = new NodeSDK({
    // `dify-gateway` unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES say otherwise (they are merged over it).
    resource: defaultResource().merge(resourceFromAttributes({ 'service.name': TRACER_NAME, 'service.version': version })),
    instrumentations: [],
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  const shutdown = async () => {
    await sdk.shutdown();
    // Leave the API as it was found, so that a gateway started again in this process registers anew.
    trace.disable();
    context.disable();
    propagation.disable();
    diag.disable();
  };
  return new OtelCallTracer(trace.getTracer(TRACER_NAME, version), shutdown);
}

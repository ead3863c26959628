import type { GatewayConfig } from './gateway-config.js';
import type { Secret } from './secret.js';

function maskedKey(key: Secret): string {
  return key.last4 ? `…${key.last4}` : '***';
}

/** scheme://host[:port]/path with credentials replaced by `***` and no query (it may hold `password=`). Also for Redis URLs. */
function maskedUrl(secret: Secret): string {
  try {
    const url = new URL(secret.reveal());
    const credentials = url.username || url.password ? '***@' : '';
    return `${url.protocol}//${credentials}${url.host}${url.pathname}`;
  } catch {
    return '***';
  }
}

/** An OTLP endpoint as origin and path: a query string or user info could hold a token. */
function maskedEndpoint(raw: string): string {
  try {
    const url = new URL(raw);
    return `${url.protocol}//${url.username || url.password ? '***@' : ''}${url.host}${url.pathname}`;
  } catch {
    return '***';
  }
}

/**
 * A one-line, masked summary of the config for the boot log: keys appear as `…last4`, the
 * database URL without credentials or query. Safe to log.
 */
export function describeConfig(cfg: GatewayConfig): string {
  const { app, dify, database, audit, idempotency, keys, redis, tracing } = cfg;
  const apps = Object.values(dify.apps)
    .map((entry) => `${entry.alias}=${entry.baseUrl} key=${maskedKey(entry.apiKey)}`)
    .join(', ');
  const t = dify.timeouts;
  const r = dify.retry;
  const p = dify.readyProbe;
  const db = database.kind === 'postgres' && database.url ? `postgres ${maskedUrl(database.url)}` : `pglite ${database.pgliteDir}`;
  return [
    `listen=${app.host}:${app.port}`,
    `log=${app.logLevel}/${app.logJson ? 'json' : 'text'}`,
    `drainMs=${app.shutdownDrainMs}`,
    `trustProxy=${app.trustProxy}`,
    `dify.apps=[${apps}]`,
    `dify.default=${dify.defaultApp}`,
    `dify.datasets=${dify.datasets ? `${dify.datasets.baseUrl} key=${maskedKey(dify.datasets.apiKey)}` : 'off'}`,
    `dify.reloadMs=${dify.reloadMs}`,
    `dify.insecureHttp=${dify.allowInsecureHttp}`,
    `dify.timeouts(connect=${t.connectMs} firstByte=${t.firstByteMs} streamIdle=${t.streamIdleMs} maxCall=${t.maxCallMs})`,
    `dify.retry(max=${r.maxRetries} base=${r.baseDelayMs} maxDelay=${r.maxDelayMs} retryAfterMax=${r.maxRetryAfterMs})`,
    `dify.concurrency=${dify.maxConcurrentCalls}`,
    `dify.maxSockets=${dify.maxSockets}`,
    `dify.breaker(failureRatio=${dify.breaker.failureRatio} windowMs=${dify.breaker.windowMs} minCalls=${dify.breaker.minCalls} openMs=${dify.breaker.openMs})`,
    `dify.ready(cacheMs=${p.cacheMs} failures=${p.failuresBeforeDown} required=${p.required})`,
    `db=${db}`,
    `migrations=${database.migrationsDir}`,
    `audit.storeText=${audit.storeText}`,
    `idempotency(ttlMs=${idempotency.ttlMs} store=${redis.url ? 'redis' : `memory max=${idempotency.maxKeys}`})`,
    `redis=${redis.url ? `${maskedUrl(redis.url)} prefix=${redis.keyPrefix}` : 'off (limits and revocations per process)'}`,
    `keys(grace=${keys.rotationGraceSeconds}s cacheMs=${keys.cacheTtlMs} lastUsedFlushMs=${keys.lastUsedFlushMs})`,
    `keys.defaultLimits(rpm=${keys.defaultLimits.requestsPerMinute} streams=${keys.defaultLimits.concurrentStreams} ` +
      `dailyTokens=${keys.defaultLimits.dailyTokens})`,
    `audit.signing=${audit.signingKeys.length ? `on(${audit.signingKeys.length} key${audit.signingKeys.length > 1 ? 's' : ''})` : 'off'}`,
    `audit.retentionDays=${audit.retentionDays || 'forever'}`,
    `audit.batch(max=${audit.batch.maxSize} waitMs=${audit.batch.maxWaitMs} timeoutMs=${audit.writeTimeoutMs})`,
    `audit.checkpointMs=${audit.checkpointIntervalMs}`,
    `tracing=${tracing.endpoint ? `otlp ${maskedEndpoint(tracing.endpoint)}` : 'off'}`, // the SDK reads the other OTEL_* itself
  ].join(' ');
}

/**
 * Audit sinks and alert webhooks from the environment. `AUDIT_SINKS` is a JSON list of sinks
 * (non-secret settings); each sink's secrets come from `AUDIT_SINK_<NAME>_HMAC_KEY` and, for
 * Splunk, `AUDIT_SINK_<NAME>_TOKEN` (each also as `<VAR>_FILE`), NAME being the sink's name in
 * upper case. Errors name variables and fields, never values.
 */
import { readFileSync } from 'node:fs';
import type { ConfigIssue } from './env.schema.js';
import { Secret } from './secret.js';
import { readSecret } from './secret-file.js';

export type SinkType = 'webhook' | 'splunk' | 'syslog';

interface SinkCommon {
  /** `[a-z0-9_-]{1,32}`: the cursor's key in the database, the metrics label. */
  name: string;
  hmacKey: Secret;
  /** Most events per batch (HTTP: one POST; syslog: messages written before the cursor moves). */
  batchSize: number;
  /** How often an idle sink looks for new sealed events. */
  intervalMs: number;
  timeoutMs: number;
  /** Backoff bounds after a failed delivery (exponential, decorrelated jitter). */
  backoff: { initialMs: number; maxMs: number };
}

export interface HttpSinkConfig extends SinkCommon {
  type: 'webhook' | 'splunk';
  url: string;
  /** Splunk HEC only. */
  token?: Secret;
  sourcetype: string;
  index?: string;
}

export interface SyslogSinkConfig extends SinkCommon {
  type: 'syslog';
  host: string;
  port: number;
  /** PEM of the CA that signs the receiver's certificate (unset: the system's CAs). */
  ca?: string;
  /** The name checked in the receiver's certificate (default: `host`). */
  serverName?: string;
  /** HOSTNAME field of each message. */
  hostname: string;
  /** Events re-sent after a reconnect (TCP syslog has no acknowledgement; receivers de-duplicate by seq). */
  replayOnReconnect: number;
}

export type SinkConfig = HttpSinkConfig | SyslogSinkConfig;

export interface AlertsConfig {
  /** Unset: no alert is sent (they are still counted in metrics). */
  url?: string;
  hmacKey?: Secret;
  /** A sink this many events behind raises `sink.lagging`. */
  sinkLagEvents: number;
  /** Keys expiring within this many days raise `key.expiring`. */
  keyExpiryDays: number;
  /** How often the periodic checks (expiry, sink lag) run. */
  checkIntervalMs: number;
}

export interface SinksConfig {
  sinks: SinkConfig[];
  alerts: AlertsConfig;
}

const NAME = /^[a-z0-9_-]{1,32}$/;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The per-sink secret variables for a sink name: `AUDIT_SINK_SPLUNK_MAIN_HMAC_KEY`... */
export function sinkSecretVariable(name: string, secret: 'HMAC_KEY' | 'TOKEN'): string {
  return `AUDIT_SINK_${name.toUpperCase().replace(/-/g, '_')}_${secret}`;
}

export function collectSinks(env: Record<string, string | undefined>): { config: SinksConfig; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const sinks: SinkConfig[] = [];
  const raw = env.AUDIT_SINKS?.trim();
  let list: unknown = [];
  if (raw) {
    try {
      list = JSON.parse(raw);
    } catch {
      issues.push({ variable: 'AUDIT_SINKS', reason: 'must be a JSON list of sinks' });
    }
  }
  if (!Array.isArray(list)) issues.push({ variable: 'AUDIT_SINKS', reason: 'must be a JSON list of sinks' });
  else {
    const seen = new Set<string>();
    list.forEach((item, i) => {
      const sink = sinkOf(item, i, env, issues);
      if (sink && seen.has(sink.name)) issues.push({ variable: 'AUDIT_SINKS', reason: `sink ${i}: name "${sink.name}" is used twice` });
      else if (sink) {
        seen.add(sink.name);
        sinks.push(sink);
      }
    });
  }
  return { config: { sinks, alerts: alertsOf(env, issues) }, issues };
}

function sinkOf(item: unknown, i: number, env: Record<string, string | undefined>, issues: ConfigIssue[]): SinkConfig | undefined {
  const fail = (reason: string): undefined => {
    issues.push({ variable: 'AUDIT_SINKS', reason: `sink ${i}: ${reason}` });
    return undefined;
  };
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return fail('must be an object');
  const o = item as Record<string, unknown>;
  if (typeof o.name !== 'string' || !NAME.test(o.name)) return fail('name must be 1-32 of a-z 0-9 _ -');
  if (o.type !== 'webhook' && o.type !== 'splunk' && o.type !== 'syslog') return fail('type must be webhook, splunk or syslog');
  const before = issues.length;
  const int = (field: string, fallback: number, min: number, max: number): number => {
    const value = o[field] ?? fallback;
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
    fail(`${field} must be an integer from ${min} to ${max}`);
    return fallback;
  };
  const hmacKey = secretOf(env, sinkSecretVariable(o.name, 'HMAC_KEY'), issues, true);
  const common = {
    name: o.name,
    hmacKey: hmacKey ?? new Secret(''),
    batchSize: int('batch_size', 500, 1, 10_000),
    intervalMs: int('interval_ms', 1_000, 10, 3_600_000),
    timeoutMs: int('timeout_ms', 10_000, 100, 300_000),
    backoff: { initialMs: int('backoff_initial_ms', 200, 1, 60_000), maxMs: int('backoff_max_ms', 30_000, 10, 3_600_000) },
  };
  if (o.type === 'syslog') {
    if (typeof o.host !== 'string' || o.host === '') return fail('host is required');
    const caFile = o.ca_file;
    let ca: string | undefined;
    if (caFile !== undefined) {
      try {
        ca = readFileSync(String(caFile), 'utf8');
      } catch {
        fail('ca_file cannot be read');
      }
    }
    const sink: SyslogSinkConfig = {
      ...common,
      type: 'syslog',
      host: o.host,
      port: int('port', 6514, 1, 65_535),
      ...(ca ? { ca } : {}),
      ...(typeof o.server_name === 'string' ? { serverName: o.server_name } : {}),
      hostname: typeof o.hostname === 'string' && /^[!-~]{1,255}$/.test(o.hostname) ? o.hostname : 'dify-gateway',
      replayOnReconnect: int('replay_on_reconnect', common.batchSize, 0, 100_000),
    };
    return issues.length === before ? sink : undefined;
  }
  const url = urlOf(o.url);
  if (!url) return fail('url must be https (http only to a loopback address), without credentials');
  const token = o.type === 'splunk' ? secretOf(env, sinkSecretVariable(o.name, 'TOKEN'), issues, true) : undefined;
  const sink: HttpSinkConfig = {
    ...common,
    type: o.type,
    url,
    ...(token ? { token } : {}),
    sourcetype: typeof o.sourcetype === 'string' ? o.sourcetype : 'dify-gateway:audit',
    ...(typeof o.index === 'string' ? { index: o.index } : {}),
  };
  return issues.length === before ? sink : undefined;
}

function alertsOf(env: Record<string, string | undefined>, issues: ConfigIssue[]): AlertsConfig {
  const rawUrl = env.ALERT_WEBHOOK_URL?.trim();
  const url = rawUrl ? urlOf(rawUrl) : undefined;
  if (rawUrl && !url) issues.push({ variable: 'ALERT_WEBHOOK_URL', reason: 'must be https (http only to a loopback address), without credentials' });
  const hmacKey = secretOf(env, 'ALERT_HMAC_KEY', issues, Boolean(rawUrl));
  const int = (variable: string, fallback: number, min: number, max: number): number => {
    const value = env[variable]?.trim();
    if (!value) return fallback;
    const n = Number(value);
    if (Number.isInteger(n) && n >= min && n <= max) return n;
    issues.push({ variable, reason: `must be an integer from ${min} to ${max}` });
    return fallback;
  };
  return {
    ...(url ? { url } : {}),
    ...(hmacKey ? { hmacKey } : {}),
    sinkLagEvents: int('ALERT_SINK_LAG_EVENTS', 10_000, 1, 1_000_000_000),
    keyExpiryDays: int('ALERT_KEY_EXPIRY_DAYS', 7, 1, 365),
    checkIntervalMs: int('ALERT_CHECK_INTERVAL_MS', 60_000, 100, 86_400_000),
  };
}

/** A secret from `NAME` or `NAME_FILE`; an issue when both, or when required and neither. */
function secretOf(env: Record<string, string | undefined>, name: string, issues: ConfigIssue[], required: boolean): Secret | undefined {
  const direct = env[name]?.trim();
  const file = env[`${name}_FILE`]?.trim();
  if (direct && file) {
    issues.push({ variable: `${name}_FILE`, reason: `set only one of ${name} and ${name}_FILE`, related: [name] });
    return undefined;
  }
  if (file) {
    const result = readSecret(file, `${name}_FILE`);
    if (!result.ok) issues.push(result.issue);
    return result.ok ? checkedKey(result.value, name, issues) : undefined;
  }
  if (direct) return checkedKey(direct, name, issues);
  if (required) issues.push({ variable: name, reason: `required: set ${name} or ${name}_FILE` });
  return undefined;
}

function checkedKey(value: string, name: string, issues: ConfigIssue[]): Secret | undefined {
  if (value.length >= 16) return new Secret(value);
  issues.push({ variable: name, reason: 'must be at least 16 characters' });
  return undefined;
}

function urlOf(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const url = new URL(value);
    if (url.username || url.password) return undefined;
    if (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname))) return url.toString();
  } catch {
    // not a URL
  }
  return undefined;
}

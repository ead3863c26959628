import { checkOtlpEndpoint } from './checks.js';
import { bool, optional, withDefault, type Parser } from './parsers.js';

/** An OTLP/HTTP endpoint: an absolute http(s) URL (it may carry a path). */
function otlpEndpoint(): Parser<string> {
  return (raw) => {
    const reason = checkOtlpEndpoint(raw);
    return reason ? { reasons: [reason] } : { value: raw };
  };
}

/**
 * Tracing is on when either OTLP endpoint is set. These are the standard variables, read again by
 * the OpenTelemetry SDK itself with the other OTEL_* ones; checked here so a typo fails at boot.
 */
export const TRACING_ENV = {
  OTEL_EXPORTER_OTLP_ENDPOINT: optional(otlpEndpoint(), 'OTLP/HTTP collector base URL; set: traces are exported (see "Tracing").'),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optional(otlpEndpoint(), 'OTLP/HTTP traces URL, when it is not the base URL + /v1/traces.'),
  OTEL_SDK_DISABLED: withDefault(bool(), 'false', 'true: no tracing even with an endpoint set.'),
};

/**
 * OpenTelemetry traces: on when an OTLP endpoint is set (and OTEL_SDK_DISABLED is not). Every
 * other OTEL_* variable (service name, headers, sampler, resource attributes, protocol) is read by
 * the SDK itself when it starts; none of it is needed to decide on or off.
 */
export interface TracingConfig {
  enabled: boolean;
  /** The endpoint traces go to (the traces one wins), for the boot summary. */
  endpoint?: string;
}

/** On with an endpoint (the traces one wins, as in the SDK), unless OTEL_SDK_DISABLED. */
export function tracingOf(endpoint: string | undefined, disabled: boolean): TracingConfig {
  return endpoint && !disabled ? { enabled: true, endpoint } : { enabled: false };
}

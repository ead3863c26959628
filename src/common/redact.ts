/**
 * The single masking helper: everything the gateway writes (logs, error bodies, audit rows,
 * metric labels) goes through it. It masks by key name and by value pattern.
 */
export const MASK = '***';

// `token(?!s)`: mask `access_token`, `form_token`, but keep usage counts such as `total_tokens`.
const SENSITIVE_KEY = /authorization|cookie|api[-_]?key|token(?!s)|secret|password|credential|session/i;

const VALUE_PATTERNS: RegExp[] = [
  /\b(?:app|dataset)-[A-Za-z0-9]{8,}\b/g, // Dify app and knowledge keys
  /\bdgw_[A-Za-z0-9]{8,}\b/g, // gateway keys
  /\bBearer\s+[^\s"',;]+/gi, // bearer credentials anywhere in text
  /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, // JWTs
  /(\/\/)[^/@\s:]+:[^/@\s]+@/g, // credentials inside URLs
];

/** Masks secrets inside free text. */
export function redactText(text: string): string {
  let out = text;
  for (const pattern of VALUE_PATTERNS) {
    out = out.replace(pattern, (match, slashes?: string) =>
      typeof slashes === 'string' && match.startsWith('//') ? `//${MASK}@` : MASK,
    );
  }
  return out;
}

/** Returns a deep copy of `value` with sensitive keys and secret-looking values masked. */
export function redact<T>(value: T, seen = new WeakSet<object>()): T {
  if (typeof value === 'string') return redactText(value) as T;
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value as object)) return '[Circular]' as T;
  seen.add(value as object);
  if (Array.isArray(value)) return value.map((item) => redact(item, seen)) as T;
  if (value instanceof Error) {
    return { name: value.name, message: redactText(value.message) } as T;
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    out[key] = SENSITIVE_KEY.test(key) ? MASK : redact(item, seen);
  }
  return out as T;
}

/** Whether a header or field name is one whose value must never be written anywhere. */
export function isSensitiveKey(name: string): boolean {
  return SENSITIVE_KEY.test(name);
}

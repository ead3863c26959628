/** Value checks shared by the environment tables and the Dify apps file. Reasons never echo the value. */

/** An API key goes into an HTTP header: printable ASCII, no spaces. */
export function isHeaderSafeSecret(value: string): boolean {
  return /^[\x21-\x7e]+$/.test(value);
}

/** The fake values of `.env.example` (`app-REPLACE_ME`) must not reach Dify. */
export function isPlaceholder(value: string): boolean {
  return value.includes('REPLACE_ME');
}

export const PLACEHOLDER_REASON = 'is still the .env.example placeholder';

/** A secret that may hold any character except whitespace and control characters. */
function hasNoWhitespaceOrControl(value: string): boolean {
  return value.length > 0 && !/[\s\p{Cc}]/u.test(value);
}

export type BaseUrlCheck = { ok: true; url: string } | { ok: false; reason: string };

export const INSECURE_HTTP_REASON = 'must be an https:// URL; set DIFY_ALLOW_INSECURE_HTTP=true for plain http';

/**
 * Checks a Dify base URL: absolute http(s), no credentials, no query or fragment, and https
 * unless `allowInsecureHttp`. Returns it without trailing `/`. Reasons never echo the value.
 * Pass `allowInsecureHttp: undefined` to skip the https rule (when the flag itself is invalid).
 */
export function checkBaseUrl(raw: string, allowInsecureHttp: boolean | undefined): BaseUrlCheck {
  if (!/^https?:\/\/[^/]/i.test(raw)) return { ok: false, reason: 'must be an absolute http(s) URL' };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'must be an absolute http(s) URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { ok: false, reason: 'must be an absolute http(s) URL' };
  }
  if (!url.hostname) return { ok: false, reason: 'must be an absolute http(s) URL' };
  const authority = raw.slice(raw.indexOf('//') + 2).split(/[/?#\\]/)[0] ?? '';
  if (url.username !== '' || url.password !== '' || authority.includes('@')) {
    return { ok: false, reason: 'must not contain credentials' };
  }
  if (raw.includes('?') || raw.includes('#')) {
    return { ok: false, reason: 'must not contain a query or fragment' };
  }
  if (url.protocol === 'http:' && allowInsecureHttp === false) {
    return { ok: false, reason: INSECURE_HTTP_REASON };
  }
  return { ok: true, url: url.href.replace(/\/+$/, '') };
}

/** A URL with one of `schemes`, parseable, no whitespace; else `reason` (never the value). */
function checkUrl(raw: string, schemes: RegExp, reason: string): string | undefined {
  if (!schemes.test(raw) || !hasNoWhitespaceOrControl(raw)) return reason;
  try {
    new URL(raw);
  } catch {
    return reason;
  }
  return undefined;
}

/** `redis://` or `rediss://`, parseable, no whitespace. Reasons never echo the value. */
export function checkRedisUrl(raw: string): string | undefined {
  return checkUrl(raw, /^rediss?:\/\//i, 'must be a redis:// or rediss:// URL');
}

/** `postgresql://` or `postgres://`, parseable, no whitespace. Reasons never echo the value. */
export function checkDatabaseUrl(raw: string): string | undefined {
  return checkUrl(raw, /^postgres(?:ql)?:\/\//i, 'must be a postgresql:// or postgres:// URL');
}

/** An OTLP/HTTP endpoint: `http://` or `https://` with a host, parseable, no whitespace. */
export function checkOtlpEndpoint(raw: string): string | undefined {
  return checkUrl(raw, /^https?:\/\/[^/]/i, 'must be an http(s) URL');
}

import { createHmac, timingSafeEqual } from 'node:crypto';

/** Headers of a signed HTTP batch. */
export const SIGNATURE_HEADER = 'x-gateway-signature';
export const TIMESTAMP_HEADER = 'x-gateway-timestamp';

/**
 * The signature of a batch: `sha256=` + hex HMAC-SHA256 over `<timestamp>.<body>`, where the
 * timestamp is the Unix time in seconds sent beside it (so a receiver can refuse old replays,
 * and a body cannot be moved to another time). The same for HTTP batches, syslog messages
 * (over the message's JSON) and alerts.
 */
export function signBody(key: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', key).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

/** Constant-time check of `signature` (as sent) against the one computed here. */
export function checkSignature(key: string, timestamp: string, body: string, signature: string): boolean {
  const expected = Buffer.from(signBody(key, timestamp, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export function unixSeconds(now = Date.now()): string {
  return String(Math.floor(now / 1000));
}

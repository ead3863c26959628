import { SIGNATURE_HEADER, signBody, TIMESTAMP_HEADER, unixSeconds } from './sink-signature.js';
import { SinkDeliveryError } from './sink-transport.js';

export interface SignedPost {
  url: string;
  hmacKey: string;
  body: string;
  contentType: string;
  timeoutMs: number;
  headers?: Record<string, string>;
}

/**
 * POSTs a body signed with `X-Gateway-Signature` and `X-Gateway-Timestamp` (see `signBody`):
 * the HTTP machinery of the sinks and the alerts. A 2xx answer is an acknowledgement; anything
 * else, a timeout or a network error throws a `SinkDeliveryError` (no URL or secret in it).
 */
export async function postSigned(post: SignedPost): Promise<void> {
  const timestamp = unixSeconds();
  const headers: Record<string, string> = {
    'content-type': post.contentType,
    'user-agent': 'dify-gateway',
    ...post.headers,
    [TIMESTAMP_HEADER]: timestamp,
    [SIGNATURE_HEADER]: signBody(post.hmacKey, timestamp, post.body),
  };
  let res: Response;
  try {
    res = await fetch(post.url, { method: 'POST', headers, body: post.body, signal: AbortSignal.timeout(post.timeoutMs), redirect: 'error' });
  } catch (err) {
    const name = (err as Error).name;
    throw name === 'TimeoutError' || name === 'AbortError'
      ? new SinkDeliveryError('timeout', `no answer within ${post.timeoutMs} ms`)
      : new SinkDeliveryError('network', `cannot reach the receiver (${causeCode(err)})`);
  }
  // Read the answer to the end: the connection goes back to the pool.
  await res.arrayBuffer().catch(() => undefined);
  if (res.status < 200 || res.status > 299) throw new SinkDeliveryError('status', `the receiver answered ${res.status}`);
}

function causeCode(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown } }).cause;
  return typeof cause?.code === 'string' && /^[A-Z_]{1,32}$/.test(cause.code) ? cause.code : 'error';
}

import type { HttpSinkConfig } from '../../config/audit-sinks.js';
import type { PresentedEvent } from '../read/audit-presenter.js';
import { httpBody, httpContentType } from './sink-format.js';
import { SIGNATURE_HEADER, signBody, TIMESTAMP_HEADER, unixSeconds } from './sink-signature.js';
import { SinkDeliveryError, type SinkTransport } from './sink-transport.js';

/** Headers sent with a batch: range of seq it holds, so a receiver can log it without parsing. */
export const SEQ_RANGE_HEADER = 'x-gateway-seq-range';

/**
 * POSTs one signed batch per call: NDJSON of events (generic webhook) or HEC envelopes (Splunk,
 * with `Authorization: Splunk <token>`). Any 2xx is an acknowledgement; anything else, a
 * timeout or a network error fails the batch (the delivery loop retries it with backoff).
 */
export class HttpSinkTransport implements SinkTransport {
  constructor(private readonly cfg: HttpSinkConfig) {}

  async send(events: PresentedEvent[]): Promise<void> {
    const body = httpBody(this.cfg, events);
    const timestamp = unixSeconds();
    const headers: Record<string, string> = {
      'content-type': httpContentType(this.cfg.type),
      [TIMESTAMP_HEADER]: timestamp,
      [SIGNATURE_HEADER]: signBody(this.cfg.hmacKey.reveal(), timestamp, body),
      [SEQ_RANGE_HEADER]: `${events[0]?.seq}-${events.at(-1)?.seq}`,
      'user-agent': 'dify-gateway-audit-sink',
    };
    if (this.cfg.token) headers.authorization = `Splunk ${this.cfg.token.reveal()}`;
    let res: Response;
    try {
      res = await fetch(this.cfg.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(this.cfg.timeoutMs), redirect: 'error' });
    } catch (err) {
      const name = (err as Error).name;
      throw name === 'TimeoutError' || name === 'AbortError'
        ? new SinkDeliveryError('timeout', `no answer within ${this.cfg.timeoutMs} ms`)
        : new SinkDeliveryError('network', `cannot reach the receiver (${causeCode(err)})`);
    }
    // Read the answer to the end: the connection goes back to the pool.
    await res.arrayBuffer().catch(() => undefined);
    if (res.status < 200 || res.status > 299) throw new SinkDeliveryError('status', `the receiver answered ${res.status}`);
  }

  takeReplay(): number {
    return 0;
  }

  async close(): Promise<void> {}
}

function causeCode(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown } }).cause;
  return typeof cause?.code === 'string' && /^[A-Z_]{1,32}$/.test(cause.code) ? cause.code : 'error';
}

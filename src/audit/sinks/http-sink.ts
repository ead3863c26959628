import type { HttpSinkConfig } from '../../config/audit-sinks.js';
import type { PresentedEvent } from '../read/audit-presenter.js';
import { postSigned } from './signed-post.js';
import { httpBody, httpContentType } from './sink-format.js';
import type { SinkTransport } from './sink-transport.js';

/** The seq range a batch holds, so a receiver can log it without parsing the body. */
export const SEQ_RANGE_HEADER = 'x-gateway-seq-range';

/**
 * POSTs one signed batch per call: NDJSON of events (generic webhook) or HEC envelopes (Splunk,
 * with `Authorization: Splunk <token>`). Any 2xx is an acknowledgement; anything else, a
 * timeout or a network error fails the batch (the delivery loop retries it with backoff).
 */
export class HttpSinkTransport implements SinkTransport {
  constructor(private readonly cfg: HttpSinkConfig) {}

  async send(events: PresentedEvent[]): Promise<void> {
    await postSigned({
      url: this.cfg.url,
      hmacKey: this.cfg.hmacKey.reveal(),
      body: httpBody(this.cfg, events),
      contentType: httpContentType(this.cfg.type),
      timeoutMs: this.cfg.timeoutMs,
      headers: {
        [SEQ_RANGE_HEADER]: `${events[0]?.seq}-${events.at(-1)?.seq}`,
        ...(this.cfg.token ? { authorization: `Splunk ${this.cfg.token.reveal()}` } : {}),
      },
    });
  }

  takeReplay(): number {
    return 0;
  }

  async close(): Promise<void> {}
}

import type { PresentedEvent } from '../read/audit-presenter.js';

/** How events leave the gateway: one implementation per kind of sink. */
export interface SinkTransport {
  /**
   * Delivers a batch, in order. Resolves once the receiver has it (HTTP: a 2xx answer; syslog:
   * written to the connection); rejects with a `SinkDeliveryError` otherwise. Never partial on
   * success; on failure the whole batch is sent again.
   */
  send(events: PresentedEvent[]): Promise<void>;
  /**
   * Events to send again before new ones, when the transport opened a new connection since the
   * last call (syslog over TCP has no acknowledgement: what was in flight when a connection
   * broke may be lost). 0 when a delivery is acknowledged.
   */
  takeReplay(): number;
  close(): Promise<void>;
}

/** A failed delivery, with a reason from a closed list (metrics label) and no URL or secret in it. */
export class SinkDeliveryError extends Error {
  constructor(
    readonly reason: 'network' | 'timeout' | 'status' | 'tls',
    message: string,
  ) {
    super(message);
    this.name = 'SinkDeliveryError';
  }
}

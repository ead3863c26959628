import { isIP } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import type { SyslogSinkConfig } from '../../config/audit-sinks.js';
import type { PresentedEvent } from '../read/audit-presenter.js';
import { unixSeconds } from './sink-signature.js';
import { octetFrame, syslogMessage } from './syslog-format.js';
import { SinkDeliveryError, type SinkTransport } from './sink-transport.js';

/**
 * RFC 5424 messages over TCP with TLS (RFC 5425), octet-counted, on one long-lived connection.
 * A batch is delivered once written and flushed. Syslog has no acknowledgement, so after a new
 * connection the delivery loop first sends the last `replayOnReconnect` events again: what the
 * kernel had not handed over when the old connection broke is not lost, and the receiver
 * de-duplicates by seq.
 */
export class SyslogSinkTransport implements SinkTransport {
  private socket?: TLSSocket;

  constructor(private readonly cfg: SyslogSinkConfig) {}

  async send(events: PresentedEvent[]): Promise<void> {
    const socket = await this.connected();
    const timestamp = unixSeconds();
    const key = this.cfg.hmacKey.reveal();
    const data = events.map((e) => octetFrame(syslogMessage(e, key, this.cfg.hostname, timestamp))).join('');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new SinkDeliveryError('timeout', `write not flushed within ${this.cfg.timeoutMs} ms`)), this.cfg.timeoutMs);
      const onClose = () => fail(new SinkDeliveryError('network', 'the receiver closed the connection'));
      const done = (err?: Error) => {
        clearTimeout(timer);
        socket.off('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      const fail = (err: Error) => {
        this.drop(socket);
        done(err);
      };
      socket.once('close', onClose);
      socket.write(data, 'utf8', (err) => (err ? fail(new SinkDeliveryError('network', `write failed (${codeOf(err)})`)) : done()));
    });
  }

  /**
   * Asked before the round's scan: when this round's send will open a new connection, the round
   * starts `replayOnReconnect` events before the cursor (what the broken connection may have
   * swallowed). Asked after connecting instead, the replay would come one round late, counted
   * from a cursor that had already moved past the lost batch.
   */
  takeReplay(): number {
    return this.isOpen(this.socket) ? 0 : this.cfg.replayOnReconnect;
  }

  async close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (!socket) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.end();
      setTimeout(() => socket.destroy(), 1_000).unref();
    });
  }

  private isOpen(socket: TLSSocket | undefined): socket is TLSSocket {
    return !!socket && !socket.destroyed && socket.writable;
  }

  private drop(socket: TLSSocket): void {
    if (this.socket === socket) this.socket = undefined;
    socket.destroy();
  }

  private async connected(): Promise<TLSSocket> {
    if (this.isOpen(this.socket)) return this.socket;
    const socket = await new Promise<TLSSocket>((resolve, reject) => {
      const s = connect({
        host: this.cfg.host,
        port: this.cfg.port,
        // SNI takes host names only (RFC 6066); the certificate is still checked against an IP host.
        ...(this.cfg.serverName || !isIP(this.cfg.host) ? { servername: this.cfg.serverName ?? this.cfg.host } : {}),
        ...(this.cfg.ca ? { ca: this.cfg.ca } : {}),
        minVersion: 'TLSv1.2',
      });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new SinkDeliveryError('timeout', `no TLS connection within ${this.cfg.timeoutMs} ms`));
      }, this.cfg.timeoutMs);
      s.once('secureConnect', () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once('error', (err) => {
        clearTimeout(timer);
        s.destroy();
        const tls = /CERT|SSL|TLS|SELF_SIGNED|HOSTNAME/i.test(codeOf(err));
        reject(new SinkDeliveryError(tls ? 'tls' : 'network', `cannot connect to the receiver (${codeOf(err)})`));
      });
    });
    // Later errors surface as a failed write or a close; without a listener they would crash the process.
    socket.on('error', () => this.drop(socket));
    socket.on('close', () => this.drop(socket));
    // Whatever the receiver says is ignored (syslog is one-way), but must be read.
    socket.resume();
    socket.setKeepAlive(true, 30_000);
    this.socket = socket;
    return socket;
  }
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^[A-Z0-9_]{1,48}$/.test(code) ? code : 'error';
}

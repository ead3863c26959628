import { redactText } from '../common/redact.js';

const MAX_PENDING = 1024 * 1024;
const LF_LF = Buffer.from('\n\n');
const CRLF_CRLF = Buffer.from('\r\n\r\n');

/**
 * Cuts an SSE byte stream into whole events (each with its blank-line terminator) as they
 * complete, so that each event is forwarded in one piece and an `error` event can be masked
 * before it leaves. Dify writes every event in one go, so this adds no delay in practice; an
 * event longer than 1 MiB is passed on as it comes, unmasked and unsplit.
 */
export class SseEventSplitter {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const events: Buffer[] = [];
    for (;;) {
      const end = boundary(this.pending);
      if (end === -1) break;
      events.push(this.pending.subarray(0, end));
      this.pending = this.pending.subarray(end);
    }
    if (this.pending.length > MAX_PENDING) events.push(this.flush());
    return events;
  }

  /** Whatever is left (an unterminated event at the end of the stream). */
  flush(): Buffer {
    const rest = this.pending;
    this.pending = Buffer.alloc(0);
    return rest;
  }
}

function boundary(buf: Buffer): number {
  const lf = buf.indexOf(LF_LF);
  const crlf = buf.indexOf(CRLF_CRLF);
  if (lf === -1 && crlf === -1) return -1;
  if (crlf !== -1 && (lf === -1 || crlf < lf)) return crlf + CRLF_CRLF.length;
  return lf + LF_LF.length;
}

/**
 * An in-stream `error` event is an error body like any other: its message goes through the
 * masking helper. Every other event is returned untouched (same bytes).
 */
export function maskErrorEvent(event: Buffer): Buffer {
  if (!event.includes('"error"')) return event;
  const text = event.toString('utf8');
  const lines = text.split('\n');
  let changed = false;
  for (let i = 0; i < lines.length; i++) {
    const match = /^data:\s?(.*?)(\r?)$/.exec(lines[i]);
    if (!match) continue;
    try {
      const json = JSON.parse(match[1]) as Record<string, unknown>;
      if (json?.event !== 'error' || typeof json.message !== 'string') continue;
      const masked = redactText(json.message);
      if (masked === json.message) continue;
      lines[i] = `data: ${JSON.stringify({ ...json, message: masked })}${match[2]}`;
      changed = true;
    } catch {
      // not JSON: left as it is
    }
  }
  return changed ? Buffer.from(lines.join('\n')) : event;
}

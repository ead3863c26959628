import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { PassThrough, Readable, finished, pipeline } from 'node:stream';

/**
 * Cuts the call when no byte of the body arrives within `idleMs`, and calls `onEnd` once, as
 * soon as the body is over (ended, failed, or dropped by its consumer, which frees the socket
 * too): a caller leaving after the last byte then aborts nothing. The idle timer is the
 * upstream socket's own (no work per chunk), stopped at the body's end, before the keep-alive
 * socket can serve another call.
 */
export function watchIdle(body: Readable, idleMs: number, onIdle: () => void, onEnd: () => void): Readable {
  const socket = (body as IncomingMessage).socket as Socket | null | undefined;
  if (!socket) return watchIdleByChunk(body, idleMs, onIdle, onEnd);
  let watching = true;
  const over = () => {
    if (!watching) return;
    watching = false;
    socket.off('timeout', onIdle);
    socket.setTimeout(0);
    onEnd();
  };
  socket.setTimeout(idleMs);
  socket.on('timeout', onIdle);
  body.once('end', over);
  finished(body, over);
  return body;
}

/** The same for a body that is not a raw response (axios wraps none with our options). */
function watchIdleByChunk(source: Readable, idleMs: number, onIdle: () => void, onEnd: () => void): Readable {
  const out = new PassThrough();
  const timer = setTimeout(onIdle, idleMs);
  source.on('data', () => timer.refresh());
  pipeline(source, out, () => {
    clearTimeout(timer);
    onEnd();
  });
  out.on('close', () => source.destroy());
  return out;
}

/** Response headers as one lower-cased string each (arrays joined, numbers as text). */
export function flattenHeaders(headers: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value === 'string') out[name.toLowerCase()] = value;
    else if (Array.isArray(value)) out[name.toLowerCase()] = value.join(', ');
    else if (typeof value === 'number') out[name.toLowerCase()] = String(value);
  }
  return out;
}

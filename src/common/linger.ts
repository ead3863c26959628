import type { IncomingMessage, ServerResponse } from 'node:http';

/** How much of a refused body is still read, and for how long, before its answer goes out. */
export const LINGER_LIMITS = { maxBytes: 16 * 1024 * 1024, ms: 5_000 };

/**
 * Reads and throws away what is left of a request body before an early answer (a refusal) goes
 * out. Without it, a caller still writing its upload hears a broken pipe instead of the 4xx: Node
 * closes a `Connection: close` socket right after the answer, and a paused body on a kept-alive
 * one stalls until the keep-alive timeout resets it (nginx's lingering close solves the same
 * problem). When more than `maxBytes` is left, or the body does not end within `ms`, the answer
 * goes out with `Connection: close` instead.
 */
export function drainBeforeAnswer(req: IncomingMessage, res: ServerResponse, limits = LINGER_LIMITS): Promise<void> {
  if (req.complete || req.destroyed) return Promise.resolve();
  const giveUp = (): void => {
    if (!res.headersSent) res.setHeader('connection', 'close');
  };
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limits.maxBytes) {
    giveUp();
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    let read = 0;
    const done = (): void => {
      clearTimeout(timer);
      req.off('data', onData).off('end', done).off('close', done).off('error', done);
      if (!req.complete) giveUp();
      resolve();
    };
    const onData = (chunk: Buffer): void => {
      read += chunk.length;
      if (read > limits.maxBytes) done();
    };
    const timer = setTimeout(done, limits.ms);
    req.on('data', onData).once('end', done).once('close', done).once('error', done);
    req.resume();
  });
}

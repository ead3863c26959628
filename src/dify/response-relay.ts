import type { ServerResponse } from 'node:http';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import type { DifyCallResponse } from './dify.client.js';
import { readLimited } from './read-limited.js';
import { SseObserver, observeJson, type CallObservation, type ObserveOptions } from './sse-observer.js';
import { DifyErrors } from '../common/errors/dify-errors.js';

/** Upstream response headers a caller may see; hop-by-hop and Dify's own cookies stay behind. */
const PASSED_HEADERS = ['content-type', 'content-disposition', 'content-length', 'content-encoding', 'cache-control', 'last-modified', 'etag'];
const JSON_BODY_LIMIT = 32 * 1024 * 1024;

export interface RelayResult {
  observation: CallObservation;
  /** Set when a stream broke after it began: the caller got an `error` event with this code. */
  streamFailure?: string;
}

/**
 * Sends Dify's answer to the caller as it is: status, content type and body. SSE chunks are
 * written as they arrive; JSON answers are checked (a broken body from Dify is a 502, not a
 * 200); binary bodies are piped.
 */
export async function relayResponse(upstream: DifyCallResponse, res: ServerResponse, options: ObserveOptions = {}): Promise<RelayResult> {
  const type = upstream.headers['content-type'] ?? '';
  const encoded = (upstream.headers['content-encoding'] ?? 'identity') !== 'identity';
  if (/^text\/event-stream/i.test(type)) return relaySse(upstream, res, encoded, options);
  if (/^application\/json/i.test(type) && !encoded) return relayJson(upstream, res, options);
  copyHeaders(upstream, res);
  res.statusCode = upstream.status;
  await pipeline(upstream.body, res);
  return { observation: {} };
}

async function relayJson(upstream: DifyCallResponse, res: ServerResponse, options: ObserveOptions): Promise<RelayResult> {
  const body = await readLimited(upstream.body, JSON_BODY_LIMIT);
  const observation: CallObservation = {};
  if (upstream.status !== 204 && body.length > 0) {
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      throw DifyErrors.malformedJson();
    }
    observeJson(json, observation, options);
  }
  copyHeaders(upstream, res);
  res.statusCode = upstream.status;
  res.setHeader('content-length', body.length);
  res.end(body);
  return { observation };
}

async function relaySse(upstream: DifyCallResponse, res: ServerResponse, encoded: boolean, options: ObserveOptions): Promise<RelayResult> {
  // The observer forwards whole lines, reads ids and usage, and masks Dify's in-stream errors.
  const observer = new SseObserver({}, options);
  res.statusCode = upstream.status;
  res.setHeader('content-type', upstream.headers['content-type']);
  if (encoded) res.setHeader('content-encoding', upstream.headers['content-encoding']);
  res.setHeader('cache-control', 'no-cache');
  res.setHeader('x-accel-buffering', 'no'); // no buffering by a proxy in front of us
  res.flushHeaders();
  try {
    for await (const chunk of upstream.body) {
      const out = encoded ? (chunk as Buffer) : observer.push(chunk as Buffer);
      if (out.length > 0) observer.observation.firstByteAt ??= Date.now();
      if (out.length > 0 && !res.write(out)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
      if (res.destroyed) break;
    }
    const rest = observer.end();
    if (rest.length > 0 && !res.destroyed) res.write(rest);
  } catch {
    if (res.destroyed) return { observation: observer.observation, streamFailure: 'client_closed' };
    const partial = observer.end();
    if (partial.length > 0) res.write(partial);
    const reason = upstream.abortReason();
    const { status, code, message } =
      reason === 'timeout' ? DifyErrors.streamIdle() : reason === 'shutdown' ? DifyErrors.streamDrained() : DifyErrors.streamInterrupted();
    // The status is already 200: tell the caller the Dify way, never with a clean-looking end.
    if (!encoded) res.write(`data: ${JSON.stringify({ event: 'error', status, code, message })}\n\n`);
    res.end();
    return { observation: observer.observation, streamFailure: code };
  }
  if (res.destroyed) return { observation: observer.observation, streamFailure: 'client_closed' };
  res.end();
  return { observation: observer.observation };
}

function copyHeaders(upstream: DifyCallResponse, res: ServerResponse): void {
  for (const name of PASSED_HEADERS) {
    const value = upstream.headers[name];
    if (value !== undefined) res.setHeader(name, value);
  }
}

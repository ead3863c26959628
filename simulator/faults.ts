/**
 * Scripted faults: a queue matched against each incoming request, and the answers of the faults that
 * replace the normal response ('status', 'html', 'rate-limit', 'malformed-json').
 * 'latency' and 'reset' are applied by the server loop; 'cut-stream' and 'stream-error' by the response.
 */
import type { ServerResponse } from 'node:http';
import { defaultsForStatus } from './errors.js';
import type { Fault } from './types.js';

export class FaultQueue {
  private faults: Array<Fault & { remaining: number }> = [];

  add(fault: Fault): void {
    const remaining = fault.times ?? 1;
    if (!(remaining > 0)) return;
    this.faults.push({ ...fault, remaining });
  }

  clear(): void {
    this.faults = [];
  }

  /** The first matching fault, with one use consumed; undefined if none applies. */
  take(method: string, path: string): Fault | undefined {
    const index = this.faults.findIndex((fault) => matches(fault, method, path));
    if (index === -1) return undefined;
    const fault = this.faults[index];
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults.splice(index, 1);
    return fault;
  }
}

function matches(fault: Fault, method: string, path: string): boolean {
  const match = fault.match;
  if (!match) return true;
  if (match.method && match.method.toUpperCase() !== method.toUpperCase()) return false;
  if (match.path === undefined) return true;
  const candidates = path.startsWith('/v1/') ? [path, path.slice(3)] : [path];
  return candidates.some((candidate) => (typeof match.path === 'string' ? candidate === match.path : testRegExp(match.path as RegExp, candidate)));
}

function testRegExp(re: RegExp, value: string): boolean {
  re.lastIndex = 0; // a /g or /y expression keeps state between calls
  return re.test(value);
}

/** True for the faults answered by `answerWithFault` instead of the normal handler. */
export function isReplacingFault(fault: Fault): boolean {
  return ['status', 'html', 'rate-limit', 'malformed-json'].includes(fault.kind);
}

export function answerWithFault(res: ServerResponse, fault: Fault): void {
  switch (fault.kind) {
    case 'status': {
      const status = fault.status ?? 500;
      const defaults = defaultsForStatus(status);
      const headers: Record<string, string> = {};
      if (status === 401) headers['WWW-Authenticate'] = 'Bearer realm="api"';
      if (fault.retryAfter) headers['Retry-After'] = fault.retryAfter;
      writeJson(res, status, { code: fault.code ?? defaults.code, message: fault.message ?? defaults.message, status }, headers);
      return;
    }
    case 'rate-limit': {
      const status = fault.status ?? 429;
      const headers: Record<string, string> = fault.retryAfter ? { 'Retry-After': fault.retryAfter } : {};
      const body = {
        code: fault.code ?? 'too_many_requests',
        message: fault.message ?? 'Too many requests. Please try again later.',
        status,
      };
      writeJson(res, status, body, headers);
      return;
    }
    case 'html': {
      const status = fault.status ?? 502;
      const title = `${status} ${fault.message ?? defaultsForStatus(status).title}`;
      const page =
        `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n` +
        `<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
      const data = Buffer.from(page);
      res.writeHead(status, { 'Content-Type': 'text/html', 'Content-Length': String(data.length), Server: 'nginx' });
      res.end(data);
      return;
    }
    case 'malformed-json': {
      const data = Buffer.from('{"event": "message", "task_id": "00000000-0000-0000-0000-000000000000", "answer": "Hel');
      res.writeHead(fault.status ?? 200, { 'Content-Type': 'application/json', 'Content-Length': String(data.length) });
      res.end(data);
      return;
    }
    default:
      throw new Error(`fault kind ${fault.kind} does not replace the response`);
  }
}

function writeJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': String(data.length), ...headers });
  res.end(data);
}

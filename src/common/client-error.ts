import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';

/** Node's parser errors, in Dify's vocabulary. */
const ANSWERS: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'request_header_fields_too_large', 'The request line and headers are larger than the gateway accepts.'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request_timeout', 'The request was not received in time.'],
  HPE_HEADERS_TIMEOUT: [408, 'request_timeout', 'The request headers were not received in time.'],
};
const MALFORMED: [number, string, string] = [400, 'bad_request', 'The request is not valid HTTP.'];

/**
 * Requests Node's HTTP parser refuses before any handler runs (headers over the size limit,
 * malformed request lines, slow headers) get a JSON answer in Dify's shape instead of Node's
 * bare status line; the connection is closed after it.
 */
export function answerClientErrorsAsJson(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, code, message] = ANSWERS[error.code ?? ''] ?? MALFORMED;
    const body = JSON.stringify({ code, message, status });
    const head = `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}`;
    socket.end(`${head}\r\nConnection: close\r\n\r\n${body}`);
  });
}

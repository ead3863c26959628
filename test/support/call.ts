/** A small fetch wrapper for e2e tests: the whole answer (a stream read to its end) as text. */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  text: string;
  json?: { code?: string; message?: string; status?: number; request_id?: string; [k: string]: unknown };
  ms: number;
}

export interface CallOptions {
  method?: string;
  key?: string;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export async function call(baseUrl: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const started = Date.now();
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  let body: string | FormData | undefined;
  if (options.body instanceof FormData) body = options.body;
  else if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${baseUrl}${path}`, { method: options.method ?? (body ? 'POST' : 'GET'), headers, body, signal: options.signal });
  const text = await res.text();
  let json: Answer['json'];
  try {
    json = JSON.parse(text) as Answer['json'];
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: Object.fromEntries(res.headers), text, json, ms: Date.now() - started };
}

/** The `data:` events of an SSE body. */
export function sseEvents(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => JSON.parse(line.slice(6)) as Record<string, unknown>);
}

/**
 * Public types of the Dify simulator. `dify-simulator.ts` re-exports them; import from there.
 */
import type { SimulatorDataset } from './knowledge-types.js';

export type { SimulatorDataset } from './knowledge-types.js';

export type SimulatorAppMode = 'chat' | 'agent-chat' | 'advanced-chat' | 'workflow' | 'completion';

export interface SimulatorApp {
  key: string;
  mode: SimulatorAppMode;
  name?: string;
  /** Per-app concurrency limit (Dify's max_active_requests); 0 or absent means unlimited. */
  maxActiveRequests?: number;
  /** Filled in by the simulator: the app's id (UUID). */
  id?: string;
  /** Filled in by the simulator for every app: the published workflow id accepted by POST /workflows/{id}/run. */
  workflowId?: string;
}

export interface SimulatorOptions {
  /** Default 0 (random free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default: one chat app with a random key `app-` + 24 letters and digits. */
  apps?: SimulatorApp[];
  /** Knowledge keys (`dataset-…`) for the knowledge API; they are rejected on app routes. */
  datasetKeys?: string[];
  /** Knowledge bases the workspace starts with (ids filled in when absent). */
  datasets?: SimulatorDataset[];
  /** SSE keep-alive `event: ping\n\n` after this long without output; default 10000. */
  pingIntervalMs?: number;
  /** Delay between streamed events (and per chunk in blocking mode); default 20. */
  streamChunkDelayMs?: number;
  /** Canned answer text, streamed word by word. */
  answer?: string;
  /**
   * Behave like a 2025 Dify whose workflow-log parser does not know `created_by_end_user_session_id`
   * (SERVICE_API.md §13.8): the filter is ignored and every end user's logs are listed.
   */
  legacyWorkflowLogs?: boolean;
}

export interface RecordedRequest {
  id: number;
  method: string;
  /** The path as received, including the `/v1` prefix and without the query string. */
  path: string;
  query: Record<string, string | string[]>;
  headers: Record<string, string | string[] | undefined>;
  /** The bearer token sent, valid or not. */
  appKey?: string;
  /** The `user` from the JSON body, multipart field or query string, when there is one. */
  user?: string;
  /** Parsed JSON, `{fields, file}` for multipart, the raw text otherwise; set once the body has been read. */
  body?: unknown;
  receivedAt: number;
}

export type FaultKind =
  | 'latency'
  | 'status'
  | 'html'
  | 'reset'
  | 'cut-stream'
  | 'rate-limit'
  | 'malformed-json'
  /** Extension: a normal SSE stream that, after `afterEvents` events, sends `{"event":"error",…}` and ends. */
  | 'stream-error';

export interface Fault {
  /** Default: any request. `path` matches the full path (`/v1/chat-messages`) or the path below `/v1`. */
  match?: { method?: string; path?: string | RegExp };
  /** How many requests it applies to (default 1; `Infinity` for all). */
  times?: number;
  kind: FaultKind;
  /** For 'latency': wait this long, then answer normally. */
  delayMs?: number;
  /** For 'status' (JSON Dify error body), 'html' (HTML page), 'rate-limit' and 'stream-error'. */
  status?: number;
  code?: string;
  message?: string;
  /** For 'rate-limit': the Retry-After header value (seconds or HTTP date). */
  retryAfter?: string;
  /** For 'cut-stream' (destroy the socket) and 'stream-error': after this many SSE data events; default 1. */
  afterEvents?: number;
  /** For 'reset': destroy the socket before reading the body (default true) or after it. */
  resetBeforeBody?: boolean;
}

export interface DifySimulator {
  /** Base URL including /v1, e.g. http://127.0.0.1:41234/v1 */
  url: string;
  port: number;
  apps: SimulatorApp[];
  /** Every request received, faulted ones included, in arrival order. */
  requests: RecordedRequest[];
  /** The seeded knowledge bases, with their ids. */
  datasets: Required<Pick<SimulatorDataset, 'id' | 'name'>>[];
  /** Adds a key to the app that has `existingKey` (a second key, for rotation). */
  addAppKey(existingKey: string, newKey: string): void;
  /** Removes an app key: calls with it get 401 from then on. */
  removeAppKey(key: string): void;
  /** Adds or removes a knowledge key. */
  addDatasetKey(key: string): void;
  removeDatasetKey(key: string): void;
  /** Queue a fault; the first matching fault with times > 0 applies. */
  addFault(f: Fault): void;
  clearFaults(): void;
  /** Clear requests, faults and all in-memory state (conversations, files, runs...). */
  reset(): void;
  /** Stop listening and close open sockets and streams. */
  close(): Promise<void>;
}

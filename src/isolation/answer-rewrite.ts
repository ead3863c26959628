import { StringDecoder } from 'node:string_decoder';
import { Transform, type TransformCallback } from 'node:stream';
import type { UserNamespace } from './user-namespace.js';

/** Fields of Dify answers that carry an end user's `user` (SERVICE_API.md §4.2, §4.8; workflow events' `created_by.user`). */
const USER_FIELDS = new Set(['user', 'session_id', 'external_user_id', 'created_by_end_user_session_id']);
const MAX_DEPTH = 64;
const MAX_LINE = 1024 * 1024;

/**
 * Removes the caller's namespace from every `user`-like field of a Dify answer, in place.
 * Values of other namespaces are left as they are (only keys allowed to see every end user get
 * such answers). Returns whether anything changed.
 */
export function stripNamespace(value: unknown, ns: UserNamespace, depth = 0): boolean {
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return false;
  let changed = false;
  if (Array.isArray(value)) {
    for (const item of value) changed = stripNamespace(item, ns, depth + 1) || changed;
    return changed;
  }
  const o = value as Record<string, unknown>;
  for (const [key, item] of Object.entries(o)) {
    if (typeof item === 'string' && USER_FIELDS.has(key)) {
      const user = ns.unwrap(item);
      if (user !== undefined) {
        o[key] = user;
        changed = true;
      }
    } else if (item !== null && typeof item === 'object') {
      changed = stripNamespace(item, ns, depth + 1) || changed;
    }
  }
  return changed;
}

/**
 * The SSE side: passes a Dify event stream through line by line, without holding more than the
 * line being received. A `data:` line is parsed only when it mentions the caller's namespace
 * (then it is stripped and re-serialized) or while `onEvent` still wants events (it is awaited
 * before the line goes on, so an id is recorded before the caller can use it).
 */
export class SseAnswerRewrite extends Transform {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  private readonly needle: string;

  constructor(
    private readonly ns: UserNamespace,
    /** Called with each parsed event until it returns false (it wants no more). */
    private onEvent?: (event: Record<string, unknown>) => Promise<boolean> | boolean,
    /** Called (and awaited) with every event whose line contains `needle`, for the whole stream. */
    private readonly watch?: { needle: string; onEvent: (event: Record<string, unknown>) => Promise<void> },
  ) {
    super();
    this.needle = JSON.stringify(ns.prefix).slice(0, -1); // `"team-a:`
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.handle(this.pending + this.decoder.write(chunk), false).then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    this.handle(this.pending + this.decoder.end(), true).then(() => callback(), callback);
  }

  private async handle(text: string, final: boolean): Promise<void> {
    const lines = text.split('\n');
    this.pending = final ? '' : (lines.pop() ?? '');
    if (this.pending.length > MAX_LINE) {
      // Not a Dify event line: forward it as it is.
      lines.push(this.pending);
      this.pending = '';
    }
    const out: string[] = [];
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      const last = final && i === lines.length - 1;
      out.push((await this.line(line)) + (last ? '' : '\n'));
    }
    const joined = out.join('');
    if (joined.length > 0) this.push(joined);
  }

  private async line(line: string): Promise<string> {
    if (!line.startsWith('data:')) return line;
    const mentions = line.includes(this.needle);
    const watched = this.watch !== undefined && line.includes(this.watch.needle);
    if (!mentions && !this.onEvent && !watched) return line;
    let event: unknown;
    try {
      event = JSON.parse(line.slice(5));
    } catch {
      return line;
    }
    if (event === null || typeof event !== 'object') return line;
    if (this.onEvent && !(await this.onEvent(event as Record<string, unknown>))) this.onEvent = undefined;
    if (watched) await this.watch!.onEvent(event as Record<string, unknown>);
    if (!mentions || !stripNamespace(event, this.ns)) return line;
    const rewritten = stringifyDeep(event);
    return rewritten === undefined ? line : `data: ${rewritten}${line.endsWith('\r') ? '\r' : ''}`;
  }
}

/**
 * JSON.stringify, or undefined for a value nested beyond what it can walk (it throws a
 * RangeError then): such an answer goes on as Dify sent it rather than failing the call.
 */
export function stringifyDeep(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

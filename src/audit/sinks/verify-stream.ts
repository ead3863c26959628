import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { FIELD_NAMES, type EventBody } from '../audit-event.js';
import { chainHash, GENESIS_HASH, type HashedBody } from '../write/audit-chain.js';
import { checkSignature } from './sink-signature.js';
import { parseSyslogMessage } from './syslog-format.js';

/**
 * The receiver's check of what a sink delivered (`node dist/cli.js audit verify-stream <file>`),
 * trusting nothing the gateway says about itself: each event's hash is recomputed from its
 * fields, each `prev_hash` must be the hash of the event before it, seq must have no gap, and
 * with the sink's HMAC key each kept batch (or syslog message) must carry a valid signature.
 * Deliveries are at least once: an event received twice (same seq, same hash) counts as a
 * duplicate, the same seq with another hash is a conflict.
 *
 * Lines of the file, in any mix: an event as the audit API shows it (webhook NDJSON), a Splunk
 * HEC envelope `{"event": ...}`, a kept batch `{"timestamp", "signature", "body"}` (body: the
 * exact bytes received), or an RFC 5424 message (optionally still octet-counted).
 */
export interface StreamReport {
  ok: boolean;
  events: number;
  duplicates: number;
  first_seq: number | null;
  last_seq: number | null;
  batches: number;
  signatures_checked: number;
  problems: { kind: 'unreadable' | 'unsealed' | 'hash' | 'conflict' | 'gap' | 'link' | 'signature'; seq?: number; line?: number; message: string }[];
}

type Problem = StreamReport['problems'][number];
type Received = { seq: number; hash: string; prevHash: string };

const MAX_PROBLEMS = 50;

export async function verifyStream(path: string, hmacKey?: string): Promise<StreamReport> {
  const bySeq = new Map<number, Received>();
  const problems: Problem[] = [];
  const report = { events: 0, duplicates: 0, batches: 0, signatures_checked: 0 };
  const problem = (p: Problem) => problems.length < MAX_PROBLEMS && problems.push(p);

  const takeEvent = (value: unknown, line: number) => {
    const e = value as Record<string, unknown>;
    if (typeof e?.seq !== 'number' || typeof e.hash !== 'string' || typeof e.prev_hash !== 'string') {
      return problem({ kind: 'unsealed', line, message: 'not a sealed event (no seq, hash and prev_hash)' });
    }
    const seq = e.seq;
    const expected = recomputedHash(e);
    if (expected !== e.hash) problem({ kind: 'hash', seq, line, message: 'the hash does not match the event' });
    const seen = bySeq.get(seq);
    if (seen) {
      if (seen.hash === e.hash && seen.prevHash === e.prev_hash) report.duplicates += 1;
      else problem({ kind: 'conflict', seq, line, message: 'received twice with different contents' });
      return;
    }
    report.events += 1;
    bySeq.set(seq, { seq, hash: e.hash, prevHash: e.prev_hash });
  };

  const takeLine = (text: string, line: number) => {
    const syslog = /^(?:\d+ )?<\d/.test(text) ? parseSyslogMessage(text.replace(/^\d+ (?=<)/, '')) : null;
    if (syslog) {
      if (hmacKey) {
        report.signatures_checked += 1;
        const signed = checkSignature(hmacKey, syslog.params.ts ?? '', syslog.msg, syslog.params.sig ?? '');
        if (!signed) problem({ kind: 'signature', line, message: 'bad message signature' });
      }
      return takeEvent(parse(syslog.msg), line);
    }
    const value = parse(text) as Record<string, unknown> | undefined;
    if (!value || typeof value !== 'object') return problem({ kind: 'unreadable', line, message: 'not JSON or syslog' });
    if (typeof value.body === 'string' && typeof value.signature === 'string') {
      report.batches += 1;
      if (hmacKey) {
        report.signatures_checked += 1;
        const signed = checkSignature(hmacKey, String(value.timestamp ?? ''), value.body, value.signature);
        if (!signed) problem({ kind: 'signature', line, message: 'bad batch signature' });
      }
      for (const part of value.body.split('\n')) if (part.trim()) takeEnvelope(parse(part), line);
      return;
    }
    takeEnvelope(value, line);
  };
  const takeEnvelope = (value: unknown, line: number) => {
    const v = value as Record<string, unknown> | undefined;
    if (v && typeof v === 'object' && 'event' in v && typeof v.event === 'object') takeEvent(v.event, line);
    else if (v && typeof v === 'object') takeEvent(v, line);
    else problem({ kind: 'unreadable', line, message: 'not JSON' });
  };

  let n = 0;
  for await (const text of createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity })) {
    n += 1;
    if (text.trim()) takeLine(text, n);
  }

  const seqs = [...bySeq.keys()].sort((a, b) => a - b);
  for (let i = 0; i < seqs.length; i++) {
    const current = bySeq.get(seqs[i])!;
    if (i === 0) {
      if (current.seq === 1 && current.prevHash !== GENESIS_HASH) problem({ kind: 'link', seq: 1, message: 'the first event does not link to the genesis' });
      continue;
    }
    const previous = bySeq.get(seqs[i - 1])!;
    if (current.seq !== previous.seq + 1) {
      problem({ kind: 'gap', seq: previous.seq + 1, message: `events ${previous.seq + 1} to ${current.seq - 1} are missing` });
    } else if (current.prevHash !== previous.hash) problem({ kind: 'link', seq: current.seq, message: 'prev_hash is not the hash of the event before' });
  }
  return { ok: problems.length === 0, ...report, first_seq: seqs[0] ?? null, last_seq: seqs.at(-1) ?? null, problems };
}

/** The chain hash of a presented (snake_case) event, from its fields alone. */
export function recomputedHash(e: Record<string, unknown>): string | null {
  try {
    const body: Record<string, unknown> = { id: e.id, type: e.type };
    for (const name of FIELD_NAMES) body[name] = e[name === 'appAlias' ? 'app' : snake(name)] ?? null;
    body.receivedAt = typeof e.received_at === 'string' ? new Date(e.received_at) : null;
    return chainHash(String(e.prev_hash), body as unknown as HashedBody & EventBody, new Date(String(e.recorded_at)));
  } catch {
    return null;
  }
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

import { describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Secret } from '../../config/secret.js';
import { presentEvent, type PresentedEvent } from '../read/audit-presenter.js';
import { GENESIS_HASH, linkEvents, toEventBody } from '../write/audit-chain.js';
import { AuditSigner } from '../write/audit-signer.js';
import { httpBody } from './sink-format.js';
import { signBody } from './sink-signature.js';
import { octetFrame, syslogMessage } from './syslog-format.js';
import { verifyStream } from './verify-stream.js';

const KEY = 'receiver-hmac-key-0123456789abcdef';

function chain(n: number): PresentedEvent[] {
  const bodies = Array.from({ length: n }, (_, i) => ({
    ...toEventBody({ id: randomUUID(), type: 'call.finished', callerName: `team-${i}`, totalTokens: i, totalPrice: '0.0012', details: { z: 1 } }),
    receivedAt: new Date(Date.UTC(2026, 11, 1, 0, 0, i)),
  }));
  const signer = new AuditSigner([new Secret('sign-0123456789abcdef0123')]);
  const stored = linkEvents({ seq: 0, hash: GENESIS_HASH, recordedAt: null }, bodies, new Date('2026-12-01T01:00:00.000Z'), signer);
  return stored.map(presentEvent);
}

function file(lines: string[]): string {
  const f = path.join(mkdtempSync(path.join(os.tmpdir(), 'verify-stream-')), 'received');
  writeFileSync(f, lines.map((l) => `${l}\n`).join(''));
  return f;
}

const asLines = (events: PresentedEvent[]) => events.map((e) => JSON.stringify(e));

describe('verifyStream', () => {
  it('accepts a complete chain, counts duplicates, and checks kept batch signatures', async () => {
    const events = chain(6);
    const webhook = httpBody({ type: 'webhook', sourcetype: 'x' }, events.slice(0, 4));
    const splunk = httpBody({ type: 'splunk', sourcetype: 'x' }, events.slice(3));
    const lines = [
      JSON.stringify({ timestamp: '1', signature: signBody(KEY, '1', webhook), body: webhook }),
      JSON.stringify({ timestamp: '2', signature: signBody(KEY, '2', splunk), body: splunk }),
    ];
    const report = await verifyStream(file(lines), KEY);
    expect(report).toMatchObject({ ok: true, events: 6, duplicates: 1, first_seq: 1, last_seq: 6, batches: 2, signatures_checked: 2, problems: [] });
  });

  it('finds an edited event, a missing one, a conflict and a forged signature', async () => {
    const events = chain(5);
    const edited = asLines(events);
    edited[1] = JSON.stringify({ ...events[1], total_tokens: 999 });
    expect((await verifyStream(file(edited))).problems).toEqual([{ kind: 'hash', seq: 2, line: 2, message: expect.any(String) }]);

    const gap = asLines(events).filter((_, i) => i !== 2);
    expect((await verifyStream(file(gap))).problems).toEqual([{ kind: 'gap', seq: 3, message: expect.any(String) }]);

    const conflict = [...asLines(events), JSON.stringify({ ...events[0], hash: 'f'.repeat(64) })];
    expect((await verifyStream(file(conflict))).problems.map((p) => p.kind)).toEqual(['hash', 'conflict']);

    const body = httpBody({ type: 'webhook', sourcetype: 'x' }, events);
    const forged = [JSON.stringify({ timestamp: '1', signature: signBody('another-key-0123456789abcdef', '1', body), body })];
    expect((await verifyStream(file(forged), KEY)).problems.map((p) => p.kind)).toEqual(['signature']);
    expect((await verifyStream(file(forged))).ok).toBe(true); // without a key only the chain is checked
  });

  it('reads RFC 5424 messages, framed or not, and checks each signature', async () => {
    const events = chain(3);
    const messages = events.map((e) => syslogMessage(e, KEY, 'gw-1', '1764547200'));
    const lines = [octetFrame(messages[0]), messages[1], messages[2]];
    expect(await verifyStream(file(lines), KEY)).toMatchObject({ ok: true, events: 3, signatures_checked: 3 });
    const tampered = [...lines];
    tampered[2] = tampered[2].replace('"gw-1"', '"gw-2"').replace('team-2', 'team-X');
    expect((await verifyStream(file(tampered), KEY)).problems.map((p) => p.kind)).toEqual(['signature', 'hash']);
  });

  it('refuses unsealed events and lines it cannot read', async () => {
    const report = await verifyStream(file(['not json', JSON.stringify({ seq: null, sealed: false })]));
    expect(report.problems.map((p) => p.kind)).toEqual(['unreadable', 'unsealed']);
    expect(report.ok).toBe(false);
  });
});

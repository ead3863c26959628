import { describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Secret } from '../../config/secret.js';
import { chainHash, GENESIS_HASH, linkEvents, toEventBody } from './audit-chain.js';
import { canonicalJson } from './canonical-json.js';
import { AuditSigner } from './audit-signer.js';

const KEY = new Secret('k'.repeat(40));

describe('canonicalJson', () => {
  it('sorts keys at every depth, drops undefined, writes no spaces', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: null, y: 'x' }], c: undefined } })).toBe('{"a":{"d":[2,{"y":"x","z":null}]},"b":1}');
  });

  it('canonicalEvent is canonicalJson of the hashed fields', async () => {
    const { canonicalEvent } = await import('./audit-chain.js');
    const body = toEventBody({ id: 'i', type: 'call.finished', requestId: 'r', details: { b: 1, a: [2] }, totalPrice: '0.1' });
    const at = new Date('2026-12-01T00:00:00.000Z');
    const { id, type, ...fields } = body;
    expect(canonicalEvent(body, at)).toBe(canonicalJson({ v: 1, id, type, recordedAt: at.toISOString(), ...fields }));
    // Recorded through the inbox: version 2, the write-ahead time hashed too.
    const receivedAt = new Date('2026-11-30T23:59:59.123Z');
    const tricky = {
      ...toEventBody({ id: 'j', type: 'call.started', endUser: 'q"\\\n\u2028', status: 0, attempts: -1, details: { z: [true, null, 'x'] } }),
      receivedAt,
    };
    const { id: id2, type: type2, receivedAt: _r, ...fields2 } = tricky;
    expect(canonicalEvent(tricky, at)).toBe(
      canonicalJson({ v: 2, id: id2, type: type2, recordedAt: at.toISOString(), receivedAt: receivedAt.toISOString(), ...fields2 }),
    );
    expect(chainHash(GENESIS_HASH, tricky, at)).not.toBe(chainHash(GENESIS_HASH, { ...tricky, receivedAt: new Date(receivedAt.getTime() + 1) }, at));
  });

  it('is the same for the same data whatever the key order', () => {
    expect(canonicalJson({ x: 1, y: { a: 1, b: 2 } })).toBe(canonicalJson({ y: { b: 2, a: 1 }, x: 1 }));
  });
});

describe('toEventBody', () => {
  it('fills every absent field with null', () => {
    const body = toEventBody({ id: 'i', type: 'gateway.started' });
    expect(body.callerKeyId).toBeNull();
    expect(body.details).toBeNull();
    expect(Object.values(body).filter((v) => v === undefined)).toEqual([]);
  });

  it('cleans text the database would refuse or change: NUL, control characters, lone surrogates, length', () => {
    const body = toEventBody({ id: 'i', type: 'call.started', endUser: 'a\u0000b\u0007c\ud800', callerName: 'x'.repeat(600), promptText: 'line\nnext\ttab' });
    expect(body.endUser).toBe('abc\ufffd');
    expect(body.callerName).toHaveLength(512);
    expect(body.promptText).toBe('line\nnext\ttab');
  });

  it('keeps integers and decimal prices only', () => {
    const body = toEventBody({ id: 'i', type: 'call.finished', status: 200.5, latencyMs: 12, totalPrice: '1e-5', totalTokens: 2 ** 40 });
    expect(body).toMatchObject({ status: null, latencyMs: 12, totalPrice: null, totalTokens: null });
    expect(toEventBody({ id: 'i', type: 'call.finished', totalPrice: '0.0000120' }).totalPrice).toBe('0.0000120');
  });

  it('turns non-integer numbers in details into strings (they would not hash the same after JSONB)', () => {
    expect(toEventBody({ id: 'i', type: 'audit.query', details: { rows: 3, ratio: 0.5, nested: { ok: true } } }).details).toEqual({
      rows: 3,
      ratio: '0.5',
      nested: { ok: true },
    });
  });
});

describe('linkEvents', () => {
  const bodies = () => [1, 2, 3].map((n) => toEventBody({ id: randomUUID(), type: 'call.started', requestId: `r${n}` }));

  it('numbers events after the head and links each hash to the previous one', () => {
    const now = new Date('2026-12-01T10:00:00.000Z');
    const linked = linkEvents({ seq: 0, hash: GENESIS_HASH, recordedAt: null }, bodies(), now, new AuditSigner([]));
    expect(linked.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(linked[0].prevHash).toBe(GENESIS_HASH);
    expect(linked[1].prevHash).toBe(linked[0].hash);
    expect(linked[2].prevHash).toBe(linked[1].hash);
    for (const e of linked) expect(chainHash(e.prevHash, e, e.recordedAt)).toBe(e.hash);
    expect(linked.every((e) => e.signature === null && e.keyId === null)).toBe(true);
  });

  it('never goes back in time: a head newer than the clock wins', () => {
    const head = { seq: 7, hash: 'a'.repeat(64), recordedAt: new Date('2026-12-01T10:00:05.000Z') };
    const [e] = linkEvents(head, bodies().slice(0, 1), new Date('2026-12-01T10:00:00.000Z'), new AuditSigner([]));
    expect(e.recordedAt).toEqual(head.recordedAt);
    expect(e.seq).toBe(8);
  });

  it('covers every field: changing any one changes the hash', () => {
    const [body] = bodies();
    const at = new Date();
    const base = chainHash(GENESIS_HASH, body, at);
    expect(chainHash(GENESIS_HASH, { ...body, requestId: 'other' }, at)).not.toBe(base);
    expect(chainHash(GENESIS_HASH, { ...body, details: { a: 1 } }, at)).not.toBe(base);
    expect(chainHash(GENESIS_HASH, body, new Date(at.getTime() + 1))).not.toBe(base);
    expect(chainHash('f'.repeat(64), body, at)).not.toBe(base);
  });

  it('signs each hash with the first key; every configured key verifies', () => {
    const signer = new AuditSigner([KEY]);
    const [e] = linkEvents({ seq: 0, hash: GENESIS_HASH, recordedAt: null }, bodies().slice(0, 1), new Date(), signer);
    expect(e.keyId).toBe(signer.keyId);
    expect(e.signature).toMatch(/^[0-9a-f]{64}$/);
    expect(signer.checkEvent(e.hash, e.keyId, e.signature)).toBe('valid');
    const rotated = new AuditSigner([new Secret('n'.repeat(40)), KEY]);
    expect(rotated.checkEvent(e.hash, e.keyId, e.signature)).toBe('valid');
    expect(rotated.keyId).not.toBe(signer.keyId);
    expect(new AuditSigner([new Secret('n'.repeat(40))]).checkEvent(e.hash, e.keyId, e.signature)).toBe('unknown_key');
    expect(signer.checkEvent('0'.repeat(64), e.keyId, e.signature)).toBe('invalid');
    expect(signer.checkEvent(e.hash, null, null)).toBe('missing');
  });

  it('does not reveal the key in its id', () => {
    const signer = new AuditSigner([KEY]);
    expect(signer.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(JSON.stringify(signer)).not.toContain(KEY.reveal());
  });
});

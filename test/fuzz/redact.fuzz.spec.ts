/**
 * Fuzz: `redact()`, the one masking helper. Canary secrets of every shape it knows, embedded
 * anywhere (values, keys, deep inside, in arrays, in text, in JSON text inside strings), never
 * appear in its output; and no value, however hostile, makes it throw.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { redact, redactText } from '../../src/common/redact.js';
import { jsonValue, runs, trickyText } from './fuzz-support.js';

const alnum = (min: number, max: number) => fc.stringMatching(new RegExp(`^[A-Za-z0-9]{${min},${max}}$`));
const b64url = (min: number) => fc.stringMatching(new RegExp(`^[A-Za-z0-9_-]{${min},24}$`));

/** A secret as it is written, and the part of it that must never be output. */
interface Canary {
  text: string;
  secret: string;
}

const canary: fc.Arbitrary<Canary> = fc.oneof(
  fc.tuple(fc.constantFrom('app-', 'dataset-'), alnum(8, 32)).map(([p, s]) => ({ text: `${p}CANARY${s}`, secret: `CANARY${s}` })),
  alnum(32, 48).map((s) => ({ text: `dgw_${s}`, secret: s })),
  fc.tuple(fc.constantFrom('Bearer ', 'bearer ', 'Bearer  '), b64url(8)).map(([p, s]) => ({ text: `${p}CANARY${s}`, secret: `CANARY${s}` })),
  fc.stringMatching(/^[A-Za-z0-9+/]{12,24}={0,2}$/).map((s) => ({ text: `Basic CANARY${s}`, secret: `CANARY${s}` })),
  fc.tuple(b64url(5), b64url(5), b64url(5)).map(([a, b, c]) => ({ text: `eyJ${a}.CANARY${b}.${c}`, secret: `CANARY${b}` })),
  fc.tuple(alnum(3, 10), alnum(6, 16)).map(([u, p]) => ({ text: `postgresql://${u}:CANARY${p}@db.internal:5432/x`, secret: `CANARY${p}` })),
  fc
    .tuple(
      fc.constantFrom(
        'password',
        'passwd',
        'api_key',
        'apikey',
        'api-key',
        'token',
        'access_token',
        'secret',
        'client_secret',
        'Authorization',
        'cookie',
        'session',
      ),
      fc.constantFrom('=', ': ', '=', '":"', "': '"),
      alnum(6, 20),
    )
    .map(([k, sep, v]) => ({ text: `${k}${sep}CANARY${v}`, secret: `CANARY${v}` })),
);

/** Around a canary in text: anything that does not glue letters or digits onto it. */
const separator = fc.constantFrom(' ', '\n', '\t', '"', "'", ',', ';', '(', ')', '[', ']', '{', '}', '<', '>', '|', '!', '?', '*', '\\"', '\\n');
const around = fc.record({ before: trickyText(20), open: separator, close: separator, after: trickyText(20) });
type Around = { before: string; open: string; close: string; after: string };
const wrapper = (a: Around) => (text: string) => `${a.before}${a.open}${text}${a.close}${a.after}`;

/** Puts `text` somewhere in a JSON-like value, as a value, a key, deep or in JSON text inside a string. */
function embed(text: string, host: unknown, where: number, wrap: (t: string) => string): unknown {
  switch (where % 7) {
    case 0:
      return { ...(host as object), message: wrap(text) };
    case 1:
      return { [wrap(text)]: host };
    case 2:
      return [host, [[{ deep: { deeper: [wrap(text)] } }]]];
    case 3:
      return { details: JSON.stringify({ inner: wrap(text), host }) };
    case 4:
      return { twice: JSON.stringify(JSON.stringify({ error: wrap(text) })) };
    case 5:
      return { list: [1, 'x', wrap(text), null] };
    default:
      return wrap(text);
  }
}

describe('fuzz: redact', () => {
  it('never outputs a canary secret, wherever it is embedded', () => {
    fc.assert(
      fc.property(canary, jsonValue(3), fc.nat(), around, (c, host, where, a) => {
        const wrap = wrapper(a);
        const value = embed(c.text, host && typeof host === 'object' && !Array.isArray(host) ? host : { host }, where, wrap);
        const out = JSON.stringify(redact(value));
        expect({ secret: c.secret, leaked: out.includes(c.secret) }).toEqual({ secret: c.secret, leaked: false });
        expect(redactText(wrap(c.text)).includes(c.secret)).toBe(false);
      }),
      runs(1500),
    );
  });

  it('never throws, whatever it is given', () => {
    // Hostile objects (revoked Proxies, throwing getters) are built inside the property: fast-check
    // itself could not print them. The generated value says which ones go where.
    const piece = fc.oneof(
      fc.anything({
        withBigInt: true,
        withDate: true,
        withMap: true,
        withSet: true,
        withTypedArray: true,
        withSparseArray: true,
        withNullPrototype: true,
        withBoxedValues: true,
      }),
      fc.record({ deep: fc.integer({ min: 1, max: 20_000 }) }),
      fc.constantFrom(
        { hostile: 'proxy-trap' },
        { hostile: 'getter' },
        { hostile: 'revoked' },
        { hostile: 'cycle' },
        { hostile: 'huge' },
        { hostile: 'bad-error' },
      ),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 6 }), fc.boolean(), (pieces, asObject) => {
        const built = pieces.map(build);
        const value = asObject ? Object.fromEntries(built.map((v, i) => [`k${i}`, v])) : built;
        expect(() => JSON.stringify(redact(value), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))).not.toThrow();
      }),
      runs(800),
    );
  });
});

const HUGE = Array.from({ length: 200_000 }, (_, i) => i);

function build(piece: unknown): unknown {
  const p = piece as { deep?: number; hostile?: string } | null;
  if (p && typeof p === 'object' && typeof p.deep === 'number' && Object.keys(p).length === 1) {
    let deep: unknown = 'app-DEEPdeepDEEP0123';
    for (let i = 0; i < p.deep; i++) deep = i % 2 ? [deep] : { a: deep };
    return deep;
  }
  switch (p && typeof p === 'object' && Object.keys(p).length === 1 ? p.hostile : undefined) {
    case 'proxy-trap':
      return new Proxy(
        {},
        {
          ownKeys: () => {
            throw new Error('trap');
          },
        },
      );
    case 'getter':
      return Object.defineProperty({}, 'boom', {
        enumerable: true,
        get: () => {
          throw new Error('getter');
        },
      });
    case 'revoked': {
      const r = Proxy.revocable([], {});
      r.revoke();
      return r.proxy;
    }
    case 'cycle': {
      const a: unknown[] = [];
      a.push(a, { a });
      return a;
    }
    case 'huge':
      return HUGE;
    case 'bad-error':
      return Object.defineProperty(new Error('x'), 'name', {
        get: () => {
          throw new Error('name');
        },
      });
    default:
      return piece;
  }
}

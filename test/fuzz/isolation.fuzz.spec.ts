/**
 * Fuzz: the `user` rewrites that put a caller's end users in its namespace, in JSON bodies
 * (setTopLevelMember), query strings (rewriteQueryParam) and multipart bodies
 * (MultipartFieldRewrite). Everything else reaches Dify as it came; hostile input is a 4xx.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { setTopLevelMember } from '../../src/isolation/json-member.js';
import { MultipartFieldRewrite, multipartBoundary } from '../../src/isolation/multipart-field.js';
import { queryParam, rewriteQueryParam } from '../../src/isolation/query-param.js';
import { UserNamespace } from '../../src/isolation/user-namespace.js';
import { expectCallerError, jsonValue, runs, trickyText } from './fuzz-support.js';

const NS = new UserNamespace('team-fuzz');

/** JSON text of `value` with whitespace of the caller's choosing between tokens. */
const spaced = (value: unknown, ws: string) => JSON.stringify(value, null, ws.includes('\n') ? 2 : undefined);

describe('fuzz: user rewrites', () => {
  it('setTopLevelMember replaces (or adds) only the top-level member, whatever the object holds', () => {
    const object = fc.dictionary(fc.oneof(trickyText(10), fc.constantFrom('user', '__proto__', 'inputs')), jsonValue(4), { maxKeys: 8 });
    fc.assert(
      fc.property(object, trickyText(30), fc.constantFrom('', ' ', '\n'), (value, user, ws) => {
        const raw = Buffer.from(ws + spaced(value, ws) + ws, 'utf8');
        const out = JSON.parse(setTopLevelMember(raw, 'user', NS.wrap(user)).toString('utf8')) as Record<string, unknown>;
        const expected = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
        expected.user = NS.wrap(user);
        expect(out).toEqual(expected);
      }),
      runs(1000),
    );
  });

  it('rewriteQueryParam namespaces every `user` and keeps every other pair byte for byte', () => {
    const key = fc.oneof(fc.constantFrom('user', 'User', 'us%65r', 'user[]', 'conversation_id', 'limit', ''), trickyText(6).map(encodeURIComponent));
    const value = fc.oneof(trickyText(20).map(encodeURIComponent), trickyText(8), fc.constantFrom('%', '%zz', '%E0%A4%A', '+', ''));
    const pair = fc.tuple(key, value, fc.boolean()).map(([k, v, withEq]) => (withEq ? `${k}=${v}` : k));
    fc.assert(
      fc.property(fc.array(pair, { maxLength: 8 }), (pairs) => {
        const raw = pairs.join('&');
        const out = refusedOrValueSync(() => rewriteQueryParam(raw, 'user', (v) => NS.wrap(v)));
        if (out === undefined) return;
        const before = raw === '' ? [] : raw.split('&');
        const after = out.split('&');
        // Pairs that were not `user` are unchanged, in order; `user` is in the namespace; none was added unless none was there.
        const users = before.filter((p) => decodeURIComponent(p.split('=')[0].replace(/\+/g, ' ')) === 'user');
        expect(after.length).toBe(before.length + (users.length === 0 ? 1 : 0));
        for (let i = 0; i < after.length; i++) {
          const original = before[i];
          const isUser = original === undefined || decodeURIComponent(original.split('=')[0].replace(/\+/g, ' ')) === 'user';
          if (isUser) expect(NS.owns(queryParam(after[i], 'user') ?? '')).toBe(true);
          else expect(after[i]).toBe(original);
        }
        expect(NS.owns(queryParam(out, 'user') ?? '')).toBe(true);
      }),
      runs(800),
    );
  });

  it('MultipartFieldRewrite keeps every other part byte for byte and namespaces `user`, at any chunking', async () => {
    const boundary = fc.stringMatching(/^[A-Za-z0-9'()+_,./:=?-]{1,40}[A-Za-z0-9]$/);
    const part = fc.record({
      name: fc.oneof(fc.constant('user'), fc.constantFrom('file', 'inputs', 'type'), fc.stringMatching(/^[a-z_]{1,10}$/)),
      file: fc.boolean(),
      data: fc.oneof(
        trickyText(60),
        fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
      ),
    });
    await fc.assert(
      fc.asyncProperty(boundary, fc.array(part, { maxLength: 5 }), fc.integer({ min: 1, max: 64 }), async (b, parts, chunk) => {
        const body =
          parts
            .map(
              (p) =>
                `--${b}\r\nContent-Disposition: form-data; name="${p.name}"${p.file ? '; filename="a.txt"' : ''}\r\n\r\n${p.data.includes(`--${b}`) ? 'x' : p.data}\r\n`,
            )
            .join('') + `--${b}--\r\n`;
        const input = Buffer.from(body, 'utf8');
        const expectedUsers = parts.filter((p) => p.name === 'user' && !p.file).map((p) => (p.data.includes(`--${b}`) ? 'x' : p.data));
        const result = await runMultipart(b, input, chunk);
        if (result instanceof Error) return expectCallerError(result);
        const got = partsOf(result.toString('utf8'), b);
        const wanted = partsOf(body, b).map((p) =>
          p.startsWith('\r\nContent-Disposition: form-data; name="user"\r\n\r\n')
            ? p.replace(/(\r\n\r\n)([\s\S]*)$/, (_m, sep: string, v: string) => sep + NS.wrap(v))
            : p,
        );
        if (expectedUsers.length === 0) wanted.splice(wanted.length - 1, 0, `\r\nContent-Disposition: form-data; name="user"\r\n\r\n${NS.wrap(undefined)}`);
        expect(got).toEqual(wanted);
      }),
      runs(800),
    );
  });

  it('MultipartFieldRewrite refuses any hostile byte stream with a 400, never another error', async () => {
    const noise = fc.oneof(
      trickyText(120),
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            noise,
            fc.constantFrom(
              '--b\r\n',
              '--b--',
              '\r\n',
              'Content-Disposition: form-data; name="user"\r\n\r\n',
              "Content-Disposition: form-data; name*=utf-8''us%65r\r\n",
            ),
          ),
          { maxLength: 10 },
        ),
        fc.integer({ min: 1, max: 32 }),
        async (pieces, chunk) => {
          const result = await runMultipart('b', Buffer.from(pieces.join(''), 'latin1'), chunk);
          if (result instanceof Error) expectCallerError(result);
        },
      ),
      runs(500),
    );
    fc.assert(
      fc.property(trickyText(100), (type) => void multipartBoundary(`multipart/form-data; ${type}`)),
      runs(500),
    );
  });
});

function refusedOrValueSync<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (error) {
    expectCallerError(error);
    return undefined;
  }
}

/** Pipes `input` through a rewrite in chunks of `size`; resolves with the output or the failure. */
function runMultipart(boundary: string, input: Buffer, size: number): Promise<Buffer | Error> {
  return new Promise((resolve) => {
    const rewrite = new MultipartFieldRewrite(boundary, 'user', (v) => NS.wrap(v));
    const out: Buffer[] = [];
    rewrite.on('data', (c: Buffer) => out.push(c));
    rewrite.on('end', () => resolve(Buffer.concat(out)));
    rewrite.on('error', (error) => resolve(error));
    for (let i = 0; i < input.length; i += size) rewrite.write(input.subarray(i, i + size));
    rewrite.end();
  });
}

/** The parts of a multipart body (headers and data as text), the closing `--` last. */
function partsOf(text: string, boundary: string): string[] {
  return ('\r\n' + text).split(`\r\n--${boundary}`).slice(1);
}

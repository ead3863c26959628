import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { parseMultipart } from '../../simulator/multipart.js';
import { MultipartFieldRewrite, multipartBoundary } from './multipart-field.js';

const B = 'X-BOUNDARY-7f3a';
const rewrite = (v: string | undefined) => `team:${v ?? 'DEFAULT-USER'}`;

function body(parts: string[], { preamble = '', epilogue = '\r\n' } = {}): Buffer {
  return Buffer.from(`${preamble}${parts.map((p) => `--${B}\r\n${p}\r\n`).join('')}--${B}--${epilogue}`, 'latin1');
}
const field = (name: string, value: string) => `Content-Disposition: form-data; name="${name}"\r\n\r\n${value}`;
const file = (name: string, data: string) =>
  `Content-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n${data}`;

/** Runs the body through the rewrite in chunks of the given sizes (cycled). */
async function run(input: Buffer, chunkSizes: number[] = [input.length]): Promise<{ out: Buffer; error?: Error }> {
  const chunks: Buffer[] = [];
  for (let at = 0, i = 0; at < input.length; i++) {
    const size = Math.max(1, chunkSizes[i % chunkSizes.length]);
    chunks.push(input.subarray(at, at + size));
    at += size;
  }
  const stream = Readable.from(chunks).pipe(new MultipartFieldRewrite(B, 'user', rewrite));
  const collected: Buffer[] = [];
  try {
    for await (const c of stream) collected.push(c as Buffer);
    return { out: Buffer.concat(collected) };
  } catch (error) {
    return { out: Buffer.concat(collected), error: error as Error };
  }
}

describe('MultipartFieldRewrite', () => {
  it('rewrites the user field and keeps every other byte, whatever the chunking', async () => {
    const binary = randomBytes(5000).toString('latin1').replaceAll(`--${B}`, 'xx');
    const input = body([file('a b.bin', binary), field('user', 'alice'), field('other', 'x')], { preamble: 'ignored preamble\r\n' });
    const expected = Buffer.from(input.toString('latin1').replace('\r\n\r\nalice\r\n', '\r\n\r\nteam:alice\r\n'), 'latin1');
    for (const sizes of [[input.length], [1], [7, 3, 64], [B.length + 1], [B.length + 2, 1]]) {
      const { out, error } = await run(input, sizes);
      expect(error).toBeUndefined();
      expect(out.equals(expected)).toBe(true);
    }
    const form = parseMultipart(expected, B);
    expect(form.fields).toEqual({ user: 'team:alice', other: 'x' });
    expect(form.files[0].data.toString('latin1')).toBe(binary);
  });

  it('adds a user field before the closing boundary when there is none', async () => {
    const input = body([file('a.txt', 'hello')]);
    const { out, error } = await run(input, [5]);
    expect(error).toBeUndefined();
    expect(parseMultipart(out, B).fields).toEqual({ user: 'team:DEFAULT-USER' });
    expect(out.toString('latin1').startsWith(`--${B}\r\nContent-Disposition: form-data; name="file"`)).toBe(true);
    const empty = await run(Buffer.from(`--${B}--\r\n`));
    expect(empty.out.toString('latin1')).toBe(`--${B}\r\nContent-Disposition: form-data; name="user"\r\n\r\nteam:DEFAULT-USER\r\n--${B}--\r\n`);
  });

  it('rewrites every user field and leaves a file part named user alone', async () => {
    const input = body([field('user', 'a'), 'Content-Disposition: form-data; name="user"; filename="u.txt"\r\n\r\nfilecontent', field('user', 'b')]);
    const { out } = await run(input, [3]);
    const text = out.toString('latin1');
    expect(text).toContain('\r\n\r\nteam:a\r\n');
    expect(text).toContain('\r\n\r\nteam:b\r\n');
    expect(text).toContain('filecontent');
    expect(text).not.toContain('team:DEFAULT-USER');
  });

  it('recognises the name however the header spells it', async () => {
    for (const disposition of ['form-data; name=user', 'FORM-DATA; NAME="user"', "form-data; name*=UTF-8''user", 'form-data ;  name = "user" ;']) {
      const { out, error } = await run(body([`Content-Disposition: ${disposition}\r\n\r\nalice`]));
      expect(error).toBeUndefined();
      expect(out.toString('latin1')).toContain('\r\n\r\nteam:alice\r\n');
    }
  });

  it.each([
    ['a bare LF delimiter hidden in a file', [file('x', `data\n--${B}\nContent-Disposition: form-data; name="user"\n\nother:alice`)]],
    ['the boundary inside a value', [field('note', `a--${B}b`)]],
    ['a bare LF in part headers', ['Content-Disposition: form-data; name="file"; filename="x"\nContent-Disposition: form-data; name="user"\r\n\r\nv']],
    ['two Content-Disposition headers', ['Content-Disposition: form-data; name="x"\r\nContent-Disposition: form-data; name="user"\r\n\r\nv']],
    ['a repeated parameter', ['Content-Disposition: form-data; name="x"; name="user"\r\n\r\nv']],
    ['conflicting name and name*', ['Content-Disposition: form-data; name="x"; name*=UTF-8\'\'user\r\n\r\nv']],
    ['a folded header', ['Content-Disposition: form-data;\r\n name="user"\r\n\r\nv']],
    ['a part without Content-Disposition', ['Content-Type: text/plain\r\n\r\nv']],
    ['a transfer encoding', ['Content-Disposition: form-data; name="user"\r\nContent-Transfer-Encoding: base64\r\n\r\nYWxpY2U=']],
    ['a field too long to hold', [field('user', 'x'.repeat(9000))]],
  ])('refuses %s', async (_label, parts) => {
    const { error } = await run(body(parts as string[]), [11]);
    expect(error).toMatchObject({ status: 400, code: 'invalid_param' });
    expect(error?.message).toMatch(/^The multipart body was refused: /);
  });

  it('refuses a body without its closing boundary, and one repeating it after the end', async () => {
    const truncated = await run(Buffer.from(`--${B}\r\n${field('user', 'a')}\r\n`));
    expect(truncated.error?.message).toContain('closing boundary is missing');
    const after = await run(body([field('a', 'b')], { epilogue: `\r\n--${B}\r\n` }));
    expect(after.error?.message).toContain('after the closing boundary');
    const garbage = await run(Buffer.from(`--${B}x\r\n${field('user', 'a')}\r\n--${B}--`));
    expect(garbage.error?.message).toContain('followed by other characters');
  });
});

describe('multipartBoundary', () => {
  it('reads plain and quoted boundaries and refuses ambiguous ones', () => {
    expect(multipartBoundary('multipart/form-data; boundary=abc')).toBe('abc');
    expect(multipartBoundary('Multipart/Form-Data; charset=utf-8; boundary="a b:c"')).toBe('a b:c');
    expect(multipartBoundary('multipart/form-data; boundary=a; boundary=b')).toBeUndefined();
    expect(multipartBoundary('multipart/form-data')).toBeUndefined();
    expect(multipartBoundary('application/json; boundary=a')).toBeUndefined();
    expect(multipartBoundary(`multipart/form-data; boundary=${'x'.repeat(71)}`)).toBeUndefined();
  });
});

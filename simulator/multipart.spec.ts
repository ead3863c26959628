import { describe, expect, it } from '@jest/globals';
import { multipartBoundary, parseMultipart } from './multipart.js';

/** Encodes a body the way a browser or Node's FormData does, to parse it back. */
async function encode(form: FormData): Promise<{ body: Buffer; contentType: string }> {
  const request = new Request('http://localhost/', { method: 'POST', body: form });
  return { body: Buffer.from(await request.arrayBuffer()), contentType: request.headers.get('content-type')! };
}

describe('multipart parser', () => {
  it('reads fields and file parts from a FormData encoding', async () => {
    const form = new FormData();
    form.append('user', 'alice');
    form.append('file', new Blob(['line1\r\nline2'], { type: 'text/plain' }), 'notes.txt');
    const { body, contentType } = await encode(form);

    const parsed = parseMultipart(body, multipartBoundary(contentType)!);
    expect(parsed.fields).toEqual({ user: 'alice' });
    expect(parsed.files).toHaveLength(1);
    expect(parsed.files[0]).toMatchObject({ name: 'file', filename: 'notes.txt', contentType: 'text/plain' });
    expect(parsed.files[0].data.toString()).toBe('line1\r\nline2');
  });

  it('handles quoted boundaries, escaped and extended filenames', () => {
    const boundary = 'b0und;ary';
    const body = Buffer.from(
      [
        `--${boundary}`,
        'Content-Disposition: form-data; name="file"; filename="a \\"b\\".txt"; filename*=UTF-8\'\'r%C3%A9sum%C3%A9.txt',
        'Content-Type: text/plain',
        '',
        'x',
        `--${boundary}--`,
        '',
      ].join('\r\n'),
    );
    expect(multipartBoundary(`multipart/form-data; boundary="${boundary}"`)).toBe(boundary);
    expect(parseMultipart(body, boundary).files[0].filename).toBe('résumé.txt');
  });

  it('is not fooled by non-multipart content types', () => {
    expect(multipartBoundary('application/json')).toBeUndefined();
    expect(multipartBoundary(undefined)).toBeUndefined();
  });
});

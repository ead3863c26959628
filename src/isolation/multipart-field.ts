import { Transform, type TransformCallback } from 'node:stream';
import { GatewayError } from '../common/gateway-error.js';
import { GatewayErrors } from '../common/errors/gateway-errors.js';

const CRLF = Buffer.from('\r\n');
const CR = 0x0d;
const LF = 0x0a;
const DASH = 0x2d;

export interface MultipartFieldOptions {
  /** Largest value of the rewritten field (it is held in memory). */
  maxFieldBytes?: number;
  /** Largest header block of one part. */
  maxHeaderBytes?: number;
}

/**
 * Rewrites one text field of a multipart/form-data body *while it streams*: every byte of every
 * other part (files included, with their headers) passes through unchanged and unbuffered; only
 * the named field's value is held (it is small) and replaced by `rewrite(value)`. When the body
 * has no such field, one is added before the closing boundary with `rewrite(undefined)`.
 *
 * Why not parse and re-encode (busboy)? Re-encoding changes the bytes of every part (header
 * spelling, filename encodings, part order of fields), and a file would be decoded and encoded
 * again on the hot path. Rewriting in place keeps the contract's "byte for byte" for everything
 * but the one field.
 *
 * It is strict where a lax parser could be fooled: a field this parser did not see could reach
 * Dify un-namespaced. So the boundary may appear only as a delimiter at the start of a line
 * ending in CRLF (a bare LF or CR line break before it, as some parsers accept, is refused),
 * part headers must use CRLF line breaks without folding, each part has exactly one
 * Content-Disposition, and the closing boundary must be there. A refused body makes the stream
 * fail with `failure` set (a 400 for the caller); since the body is chunked to Dify, the request
 * it had started never completes there.
 */
export class MultipartFieldRewrite extends Transform {
  /** Why the body was refused, once it was. */
  failure?: GatewayError;
  private readonly dashBoundary: Buffer;
  private readonly maxFieldBytes: number;
  private readonly maxHeaderBytes: number;
  /** Starts with a virtual CRLF, so that the first delimiter looks like every other one. */
  private buf: Buffer = CRLF;
  /** Output bytes still to drop: the virtual CRLF. */
  private toSkip = 2;
  private state: 'body' | 'after-delimiter' | 'headers' | 'epilogue' = 'body';
  private delimiter?: Buffer;
  private captured?: { headers: Buffer; chunks: Buffer[]; size: number };
  private seen = false;

  constructor(
    boundary: string,
    private readonly field: string,
    private readonly rewrite: (value: string | undefined) => string,
    options: MultipartFieldOptions = {},
  ) {
    super();
    this.dashBoundary = Buffer.from(`--${boundary}`, 'latin1');
    this.maxFieldBytes = options.maxFieldBytes ?? 8 * 1024;
    this.maxHeaderBytes = options.maxHeaderBytes ?? 16 * 1024;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    this.run(false, callback);
  }

  override _flush(callback: TransformCallback): void {
    this.run(true, callback);
  }

  private run(final: boolean, callback: TransformCallback): void {
    try {
      this.process(final);
      if (final && this.state !== 'epilogue') throw refuse('the closing boundary is missing');
      callback();
    } catch (error) {
      this.failure = error instanceof GatewayError ? error : refuse('it could not be read');
      callback(this.failure);
    }
  }

  private process(final: boolean): void {
    for (;;) {
      switch (this.state) {
        case 'body': {
          const at = this.buf.indexOf(this.dashBoundary);
          if (at === -1) {
            // Keep what could be the start of a delimiter split across chunks: CRLF + "--boundary" - 1.
            const keep = final ? 0 : this.dashBoundary.length + 1;
            if (this.buf.length > keep) {
              this.partData(this.buf.subarray(0, this.buf.length - keep));
              this.buf = this.buf.subarray(this.buf.length - keep);
            }
            return;
          }
          if (at < 2 || this.buf[at - 2] !== CR || this.buf[at - 1] !== LF) throw refuse('the boundary appears inside a part');
          this.partData(this.buf.subarray(0, at - 2));
          this.endPart();
          this.delimiter = this.buf.subarray(at - 2, at + this.dashBoundary.length);
          this.buf = this.buf.subarray(at + this.dashBoundary.length);
          this.state = 'after-delimiter';
          continue;
        }
        case 'after-delimiter': {
          if (this.buf.length < 2) {
            if (final) throw refuse('it ends inside a boundary line');
            return;
          }
          if (this.buf[0] === DASH && this.buf[1] === DASH) {
            if (!this.seen) this.emitAddedField();
            this.out(this.delimiter!);
            this.out(this.buf.subarray(0, 2));
            this.buf = this.buf.subarray(2);
            this.state = 'epilogue';
            continue;
          }
          const eol = this.buf.indexOf(CRLF);
          if (eol === -1) {
            if (final || this.buf.length > 256) throw refuse('a boundary line does not end with CRLF');
            return;
          }
          if (!/^[ \t]*$/.test(this.buf.subarray(0, eol).toString('latin1')) || this.buf.subarray(0, eol).includes(LF)) {
            throw refuse('the boundary is followed by other characters');
          }
          this.out(this.delimiter!);
          this.out(this.buf.subarray(0, eol + 2));
          this.buf = this.buf.subarray(eol + 2);
          this.state = 'headers';
          continue;
        }
        case 'headers': {
          let end: number;
          if (this.buf.length >= 2 && this.buf[0] === CR && this.buf[1] === LF) end = 0;
          else {
            const blank = this.buf.indexOf('\r\n\r\n');
            if (blank === -1) {
              if (final || this.buf.length > this.maxHeaderBytes) throw refuse('a part header block is too long or unterminated');
              return;
            }
            end = blank + 2;
          }
          if (end > this.maxHeaderBytes) throw refuse('a part header block is too long');
          const headers = this.buf.subarray(0, end + 2);
          const part = parsePartHeaders(this.buf.subarray(0, end));
          if (part.name === this.field && !part.isFile) {
            this.captured = { headers, chunks: [], size: 0 };
            this.seen = true;
          } else {
            this.out(headers);
          }
          this.buf = this.buf.subarray(end + 2);
          this.state = 'body';
          continue;
        }
        case 'epilogue': {
          if (this.buf.indexOf(this.dashBoundary) !== -1) throw refuse('the boundary appears after the closing boundary');
          const keep = final ? 0 : this.dashBoundary.length - 1;
          if (this.buf.length > keep) {
            this.out(this.buf.subarray(0, this.buf.length - keep));
            this.buf = this.buf.subarray(this.buf.length - keep);
          }
          return;
        }
      }
    }
  }

  private partData(data: Buffer): void {
    if (data.length === 0) return;
    if (!this.captured) {
      this.out(data);
      return;
    }
    this.captured.size += data.length;
    if (this.captured.size > this.maxFieldBytes) throw refuse(`the '${this.field}' field is longer than ${this.maxFieldBytes} bytes`);
    this.captured.chunks.push(Buffer.from(data));
  }

  private endPart(): void {
    if (!this.captured) return;
    const { headers, chunks } = this.captured;
    this.captured = undefined;
    this.out(headers);
    this.out(Buffer.from(this.rewrite(Buffer.concat(chunks).toString('utf8')), 'utf8'));
  }

  private emitAddedField(): void {
    this.seen = true;
    const part = `\r\n--${this.dashBoundary.subarray(2).toString('latin1')}\r\nContent-Disposition: form-data; name="${this.field}"\r\n\r\n`;
    this.out(Buffer.concat([Buffer.from(part, 'latin1'), Buffer.from(this.rewrite(undefined), 'utf8')]));
  }

  private out(data: Buffer): void {
    if (this.toSkip > 0) {
      const skip = Math.min(this.toSkip, data.length);
      this.toSkip -= skip;
      data = data.subarray(skip);
    }
    // `data` is a view of a buffer this stream made and never changes: no copy needed.
    if (data.length > 0) this.push(data);
  }
}

/** The boundary of a multipart/form-data Content-Type, or undefined (no boundary, or an ambiguous one). */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType || !/^\s*multipart\/form-data\s*;/i.test(contentType)) return undefined;
  const params = parseParams(contentType.slice(contentType.indexOf(';')));
  const boundary = params?.get('boundary');
  // RFC 2046: 1-70 characters, no trailing space.
  if (!boundary || boundary.length > 70 || / $/.test(boundary) || /[\r\n]/.test(boundary)) return undefined;
  return boundary;
}

interface PartInfo {
  name?: string;
  isFile: boolean;
}

function parsePartHeaders(block: Buffer): PartInfo {
  const text = block.toString('utf8');
  if (/[\r\n]/.test(text.replace(/\r\n/g, ''))) throw refuse('a part header uses a bare CR or LF line break');
  let disposition: string | undefined;
  for (const line of text.split('\r\n')) {
    if (line === '') continue;
    if (/^[ \t]/.test(line)) throw refuse('a part header is folded over several lines');
    const colon = line.indexOf(':');
    if (colon <= 0 || /[\s]/.test(line.slice(0, colon))) throw refuse('a part header is malformed');
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-disposition') {
      if (disposition !== undefined) throw refuse('a part has two Content-Disposition headers');
      disposition = value;
    } else if (name === 'content-transfer-encoding' && !/^(7bit|8bit|binary)$/i.test(value)) {
      throw refuse('a part uses a Content-Transfer-Encoding');
    }
  }
  if (disposition === undefined) throw refuse('a part has no Content-Disposition header');
  const semi = disposition.indexOf(';');
  const type = (semi === -1 ? disposition : disposition.slice(0, semi)).trim().toLowerCase();
  if (type !== 'form-data') throw refuse('a part is not form-data');
  const params = semi === -1 ? new Map<string, string>() : parseParams(disposition.slice(semi));
  if (!params) throw refuse('a Content-Disposition header is malformed');
  let name = params.get('name');
  const extended = params.get('name*');
  if (extended !== undefined) {
    const decoded = decodeExtended(extended);
    if (decoded === undefined || (name !== undefined && name !== decoded)) throw refuse('a part has conflicting names');
    name = decoded;
  }
  return { name, isFile: params.has('filename') || params.has('filename*') };
}

/**
 * `; a=b; c="d \"e\""` into lower-cased names; undefined when it does not parse or repeats a
 * name (different parsers would pick different values).
 */
function parseParams(text: string): Map<string, string> | undefined {
  const params = new Map<string, string>();
  const re = /\s*;\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(?:"((?:[^"\\\r\n]|\\.)*)"|([!#$%&'*+.^_`|~0-9A-Za-z-]+))\s*/y;
  let at = 0;
  while (at < text.length) {
    if (/^\s*;?\s*$/.test(text.slice(at))) break;
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) return undefined;
    const key = m[1].toLowerCase();
    if (params.has(key)) return undefined;
    params.set(key, m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]);
    at = re.lastIndex;
  }
  return params;
}

/** RFC 8187 `charset'lang'percent-encoded`. */
function decodeExtended(value: string): string | undefined {
  const m = /^([A-Za-z0-9!#$%&+^_`{}~-]*)'[^']*'(.*)$/.exec(value);
  if (!m || !/^(utf-8|)$/i.test(m[1])) return undefined;
  try {
    return decodeURIComponent(m[2]);
  } catch {
    return undefined;
  }
}

function refuse(why: string): GatewayError {
  return GatewayErrors.invalidParam(`The multipart body was refused: ${why}.`);
}

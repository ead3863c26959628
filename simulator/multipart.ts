/**
 * A small buffered multipart/form-data parser, enough for the simulator's upload routes.
 * Like werkzeug, a part with a `filename` parameter (even empty) is a file; others are fields.
 */

export interface MultipartPart {
  name: string;
  /** Present for file parts (possibly ''). */
  filename?: string;
  /** The part's Content-Type header, if any. */
  contentType?: string;
  data: Buffer;
}

export interface MultipartForm {
  fields: Record<string, string>;
  files: MultipartPart[];
}

/** The boundary from a multipart Content-Type header, or undefined when it is not multipart. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data\b/i.test(contentType.trim())) return undefined;
  const params = parseHeaderParams(contentType);
  return params.boundary || undefined;
}

export function parseMultipart(body: Buffer, boundary: string): MultipartForm {
  const form: MultipartForm = { fields: {}, files: [] };
  const delimiter = Buffer.from(`--${boundary}`);
  let pos = body.indexOf(delimiter);
  while (pos !== -1) {
    pos += delimiter.length;
    if (body.subarray(pos, pos + 2).toString() === '--') break; // closing delimiter
    if (body.subarray(pos, pos + 2).toString() === '\r\n') pos += 2;
    const headerEnd = body.indexOf('\r\n\r\n', pos);
    if (headerEnd === -1) break;
    const headers = parseHeaders(body.subarray(pos, headerEnd).toString('utf8'));
    const contentStart = headerEnd + 4;
    const next = body.indexOf(Buffer.from(`\r\n--${boundary}`), contentStart);
    if (next === -1) break;
    const disposition = parseHeaderParams(headers['content-disposition'] ?? '');
    const name = disposition.name ?? '';
    const data = body.subarray(contentStart, next);
    if (disposition.filename !== undefined) {
      form.files.push({ name, filename: disposition.filename, contentType: headers['content-type'], data });
    } else {
      form.fields[name] = data.toString('utf8');
    }
    pos = next + 2;
  }
  return form;
}

function parseHeaders(block: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** Parses `value; a=b; c="d \"e\""; f*=UTF-8''g%20h` into lower-cased parameter names. */
function parseHeaderParams(header: string): Record<string, string> {
  const params: Record<string, string> = {};
  const re = /;\s*([^=\s;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g;
  let match: RegExpExecArray | null;
  while ((match = re.exec(header)) !== null) {
    const key = match[1].toLowerCase();
    const value = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3].trim();
    if (key.endsWith('*')) {
      const extended = /^[^']*'[^']*'(.*)$/.exec(value);
      try {
        params[key.slice(0, -1)] = decodeURIComponent(extended ? extended[1] : value);
      } catch {
        params[key.slice(0, -1)] = value;
      }
    } else if (!(key in params)) {
      params[key] = value;
    }
  }
  return params;
}

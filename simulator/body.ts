/**
 * Reading request bodies and the `user` argument the way Dify's Flask code does (SERVICE_API.md §2, §4):
 * JSON routes call `request.get_json()` strictly (415 for another content type, 400 for bad JSON).
 */
import type { IncomingMessage } from 'node:http';
import type { RequestContext } from './context.js';
import { invalidJson, unsupportedMediaType, userRequired, validationError } from './errors.js';
import { multipartBoundary, parseMultipart, type MultipartForm } from './multipart.js';
import { isPlainObject } from './util.js';

/** Larger than Dify's biggest upload category (video, 100 MB). */
export const MAX_BODY_BYTES = 110 * 1024 * 1024;

export class BodyTooLargeError extends Error {}

export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLargeError());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('aborted', () => reject(new Error('request aborted')));
  });
}

const isJsonContentType = (contentType: string | undefined): boolean => {
  const mime = (contentType ?? '').split(';')[0].trim().toLowerCase();
  return mime === 'application/json' || (mime.startsWith('application/') && mime.endsWith('+json'));
};

/** Strict `request.get_json()`: the parsed object, or 415 / 400 like Flask. */
export function jsonBody(ctx: RequestContext, model = 'Payload'): Record<string, unknown> {
  if (!isJsonContentType(ctx.req.headers['content-type'])) throw unsupportedMediaType();
  let parsed: unknown;
  try {
    parsed = JSON.parse(ctx.rawBody.toString('utf8'));
  } catch {
    throw invalidJson();
  }
  if (!isPlainObject(parsed)) throw validationError(model, '', 'Input should be a valid dictionary');
  return parsed;
}

/** The `user` string from a JSON body; undefined if absent (or empty) and optional. */
export function userFromJson(body: Record<string, unknown>, required: boolean): string | undefined {
  return normaliseUser(body.user, required);
}

export function userFromQuery(ctx: RequestContext, required: boolean): string | undefined {
  return normaliseUser(ctx.query.get('user') ?? undefined, required);
}

export function userFromForm(form: MultipartForm, required: boolean): string | undefined {
  return normaliseUser(form.fields.user, required);
}

function normaliseUser(value: unknown, required: boolean): string | undefined {
  if (value === undefined || value === null || value === '') {
    if (required) throw userRequired();
    return undefined;
  }
  // Python's str(): True is "True" (§13.5).
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return typeof value === 'string' ? value : String(value);
}

/** The multipart form of the request; an empty form when the body is not multipart. */
export function multipartBody(ctx: RequestContext): MultipartForm {
  const boundary = multipartBoundary(ctx.req.headers['content-type']);
  if (!boundary) return { fields: {}, files: [] };
  return parseMultipart(ctx.rawBody, boundary);
}

/** What the request log keeps of a body. */
export function describeBody(contentType: string | undefined, raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  const boundary = multipartBoundary(contentType);
  if (boundary) {
    const form = parseMultipart(raw, boundary);
    const file = form.files[0];
    return {
      fields: form.fields,
      file: file ? { name: file.filename ?? '', size: file.data.length, mimeType: file.contentType ?? '' } : undefined,
      files: form.files.map((f) => ({ field: f.name, name: f.filename ?? '', size: f.data.length, mimeType: f.contentType ?? '' })),
    };
  }
  const text = raw.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Parses an integer query parameter within bounds, as pydantic would (400 invalid_param otherwise). */
export function intParam(ctx: RequestContext, name: string, fallback: number, min: number, max: number, model = 'Query'): number {
  const raw = ctx.query.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw.trim())) {
    throw validationError(model, name, 'Input should be a valid integer, unable to parse string as an integer');
  }
  const value = Number(raw);
  if (value < min) throw validationError(model, name, `Input should be greater than or equal to ${min}`);
  if (value > max) throw validationError(model, name, `Input should be less than or equal to ${max}`);
  return value;
}

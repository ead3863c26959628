import type { IncomingMessage } from 'node:http';
import getRawBody from 'raw-body';
import { validate } from 'class-validator';
import { parseJsonBody } from '../common/safe-json.js';
import type { DifyRoute } from './dify.routes.js';
import { SENT_MEMBERS } from './dto/lax.js';
import { GatewayErrors } from '../common/errors/gateway-errors.js';
import { DifyErrors } from '../common/errors/dify-errors.js';

export const JSON_BODY_LIMIT = 10 * 1024 * 1024;

/**
 * Reads and checks a JSON body before anything is spent upstream. Returns the exact bytes to
 * forward: the caller's own JSON, unchanged, so that fields we do not know still reach Dify.
 */
export async function readJsonBody(req: IncomingMessage, route: DifyRoute): Promise<{ raw: Buffer; json: Record<string, unknown> }> {
  const type = req.headers['content-type'] ?? '';
  // Like Flask's get_json(): application/json and any application/<something>+json.
  const mediaType = type.split(';')[0].trim().toLowerCase();
  // No exception for a bodiless DELETE: Dify answers it 415 (§13.9), and sending `{}` instead
  // would delete as the default user.
  if (!/^application\/([a-z0-9.+-]*\+)?json$/.test(mediaType)) {
    throw GatewayErrors.unsupportedMediaType("Did not attempt to load JSON data because the request Content-Type was not 'application/json'.");
  }
  let raw: Buffer;
  try {
    raw = await getRawBody(req, { limit: JSON_BODY_LIMIT });
  } catch (error) {
    const type = (error as { type?: string }).type;
    if (type === 'entity.too.large') throw GatewayErrors.bodyTooLarge(JSON_BODY_LIMIT);
    throw GatewayErrors.badRequest('The request body could not be read.');
  }
  const json = parseJsonBody(raw);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw GatewayErrors.badRequest('The JSON body must be an object.');
  }
  const body = json as Record<string, unknown>;
  coerceUser(route, body);
  if (route.dto) await validateDto(route.dto, body);
  return { raw, json: body };
}

/**
 * Dify reads a JSON `user` with `str()` (§13.5): `12345` is the end user "12345". The coerced
 * string replaces the member before the namespace is put on it; an object or array stays refused.
 */
function coerceUser(route: DifyRoute, json: Record<string, unknown>): void {
  if (route.user?.in !== 'json') return;
  const name = route.user.name ?? 'user';
  const value = json[name];
  if (typeof value === 'number' && Number.isFinite(value)) json[name] = String(value);
  else if (typeof value === 'boolean') json[name] = value ? 'True' : 'False';
}

/** Own keys that would change what the validator sees as the instance's class. */
const NOT_COPIED = new Set(['constructor', '__proto__']);

/**
 * The DTO instance class-validator checks: the body's top-level members as own data properties.
 * Not class-transformer: the /v1 DTOs declare no nested types, and plainToInstance walks the
 * whole body recursively and throws a TypeError on `{"a":{"constructor":[...]}}` (a 500).
 */
function toDtoInstance(dto: new () => object, json: Record<string, unknown>): object {
  const instance = new dto();
  Object.defineProperty(instance, SENT_MEMBERS, { value: new Set(Object.keys(json)), enumerable: false });
  for (const key of Object.keys(json)) {
    if (!NOT_COPIED.has(key)) Object.defineProperty(instance, key, { value: json[key], enumerable: true, writable: true, configurable: true });
  }
  return instance;
}

async function validateDto(dto: new () => object, json: Record<string, unknown>): Promise<void> {
  const instance = toDtoInstance(dto, json);
  const errors = await validate(instance, { forbidUnknownValues: false, whitelist: false, stopAtFirstError: true });
  if (errors.length === 0) return;
  const refusal = (dto as { refusal?: { status: number; code: string } }).refusal;
  // Dify answers a missing user with exactly this message; clients may look for it.
  const user = json.user;
  if (errors.some((e) => e.property === 'user') && (user === undefined || user === null || user === '')) {
    throw GatewayErrors.invalidParam('Arg user must be provided.');
  }
  const message = errors.flatMap((e) => Object.values(e.constraints ?? {})).join('; ');
  throw refusal ? DifyErrors.rejected(refusal.status, refusal.code, message) : GatewayErrors.invalidParam(message);
}

/** Multipart bodies stream through byte for byte; only their framing is checked here. */
export function checkMultipart(req: IncomingMessage): void {
  const type = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data\s*;.*boundary=/i.test(type)) {
    throw GatewayErrors.unsupportedMediaType('This endpoint takes multipart/form-data with a boundary.');
  }
}

/** Caller headers that Dify may use; everything else (cookies, the caller's key, hop-by-hop) stays here. */
const FORWARDED_HEADERS = ['content-type', 'content-length', 'accept', 'accept-language', 'x-trace-id', 'traceparent', 'tracestate'];

export function forwardedHeaders(req: IncomingMessage, includeBodyHeaders: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value !== 'string') continue;
    const lower = name.toLowerCase();
    if (!includeBodyHeaders && (lower === 'content-type' || lower === 'content-length')) continue;
    if (FORWARDED_HEADERS.includes(lower) || (lower.startsWith('x-dify-') && lower !== 'x-dify-api-key')) out[lower] = value;
  }
  return out;
}

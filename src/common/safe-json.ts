import { GatewayErrors } from './errors/gateway-errors.js';

/**
 * How deep a caller's JSON may nest. Dify's own bodies nest a few levels (`inputs` holding file
 * lists of objects); 64 leaves ample room for workflow inputs while keeping every recursive
 * walker after the parser (class-transformer, class-validator, JSON.stringify, redact) far from
 * the stack limit.
 */
export const MAX_JSON_DEPTH = 64;

/** Values (members, elements, scalars) a /v1 body may hold: a 10 MB body of short strings, roughly. */
export const MAX_JSON_VALUES = 200_000;

export interface JsonLimits {
  maxDepth: number;
  maxValues: number;
}

export const DEFAULT_JSON_LIMITS: JsonLimits = { maxDepth: MAX_JSON_DEPTH, maxValues: MAX_JSON_VALUES };

/**
 * Parses a caller's JSON body, refusing (400 `bad_request`, Dify's shape) bodies nested deeper or
 * holding more values than `limits` allow. The check is a flat scan of the bytes before
 * `JSON.parse`, so neither the check nor anything after it can exhaust the stack. JSON's
 * structural characters are ASCII, so scanning bytes is safe inside UTF-8 text.
 */
export function parseJsonBody(raw: Buffer, limits: JsonLimits = DEFAULT_JSON_LIMITS): unknown {
  checkJsonShape(raw, limits);
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    throw GatewayErrors.badRequest('Invalid JSON payload received or JSON payload is empty.');
  }
}

/** Throws when `raw` nests deeper or holds more values than allowed; says nothing about validity. */
export function checkJsonShape(raw: Buffer, limits: JsonLimits): void {
  let depth = 0;
  // One per container and one per separator: at least the number of members and elements.
  let values = 1;
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i];
    if (b === 0x22) {
      // a string: skip to its closing quote, escapes included
      for (i++; i < raw.length && raw[i] !== 0x22; i++) if (raw[i] === 0x5c) i++;
    } else if (b === 0x5b || b === 0x7b) {
      if (++depth > limits.maxDepth) {
        throw GatewayErrors.badRequest(`The JSON body is nested deeper than ${limits.maxDepth} levels.`);
      }
      values++;
    } else if (b === 0x5d || b === 0x7d) {
      depth--;
    } else if (b === 0x2c) {
      values++;
    } else {
      continue;
    }
    if (values > limits.maxValues) {
      throw GatewayErrors.badRequest(`The JSON body holds more than ${limits.maxValues} values.`);
    }
  }
}

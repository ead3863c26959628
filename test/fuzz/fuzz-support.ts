/**
 * Shared settings of the property-based fuzz suite (test/fuzz/*.fuzz.spec.ts, part of `npm test`).
 * One fixed seed, so a run is repeatable; fast-check prints the seed and the shrunk
 * counterexample of a failing property (`{ seed: ..., path: ... }`): rerun that case with
 * FUZZ_SEED=<seed> (and FUZZ_RUNS to run more cases while hunting).
 */
import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { expect } from '@jest/globals';
import fc from 'fast-check';
import { GatewayError } from '../../src/common/gateway-error.js';

export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20_261_201);
/** Cases per property unless a property says otherwise; scaled by FUZZ_RUNS (e.g. 10 for a long hunt). */
export const FUZZ_SCALE = Number(process.env.FUZZ_RUNS ?? 1);

fc.configureGlobal({ seed: FUZZ_SEED, numRuns: Math.round(200 * FUZZ_SCALE), verbose: fc.VerbosityLevel.Verbose });

/** Cases for one property: `n` scaled by FUZZ_RUNS. */
export const runs = (n: number) => ({ numRuns: Math.max(1, Math.round(n * FUZZ_SCALE)) });

/** A caller's fault: a GatewayError with a 4xx status. Anything else (a TypeError, a 500) fails the property. */
export function expectCallerError(error: unknown): void {
  if (!(error instanceof GatewayError) || error.status < 400 || error.status >= 500) {
    throw new Error(
      `expected a 4xx GatewayError, got ${error instanceof Error ? `${error.name} ${(error as { status?: number }).status ?? ''}: ${error.message}` : String(error)}`,
    );
  }
  expect(error.code).toMatch(/^[a-z_]+$/);
}

/** Runs `fn`; a throw must be a caller's fault. Returns the value, or undefined after a refusal. */
export async function refusedOrValue<T>(fn: () => Promise<T> | T): Promise<T | undefined> {
  try {
    return await fn();
  } catch (error) {
    expectCallerError(error);
    return undefined;
  }
}

/** An IncomingMessage as the body readers see it: headers, and the body as a stream, in chunks. */
export function fakeRequest(body: Buffer, headers: Record<string, string>, chunkSize = 64 * 1024): IncomingMessage {
  const chunks: Buffer[] = [];
  for (let i = 0; i < body.length; i += chunkSize) chunks.push(body.subarray(i, i + chunkSize));
  const stream = Readable.from(chunks, { objectMode: false }) as unknown as IncomingMessage;
  Object.assign(stream, { headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])) });
  return stream;
}

/** Text with the characters that break parsers: quotes, backslashes, brackets, separators, control and non-ASCII. */
export const trickyText = (maxLength = 40) =>
  fc.string({
    unit: fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('"', '\\', '{', '}', '[', ']', ',', ':', '&', '=', '+', '%', '\r', '\n', ';', ' ', '-', '/') },
      { weight: 4, arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) },
      { weight: 1, arbitrary: fc.constantFrom('é', '☃', '\u0000', '\u2028', '\uD83D\uDE00') },
    ),
    maxLength,
  });

/** JSON values with tricky strings and keys, `__proto__` and `constructor` included. */
export const jsonValue = (maxDepth = 4) =>
  fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true, maxDepth },
      fc.constant(null),
      fc.boolean(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.integer(),
      trickyText(),
      fc.array(tie('value'), { maxLength: 5 }),
      fc.dictionary(fc.oneof(trickyText(12), fc.constantFrom('user', '__proto__', 'constructor', 'inputs', 'query')), tie('value'), { maxKeys: 5 }),
    ),
  })).value;

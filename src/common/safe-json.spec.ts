import { describe, expect, it } from '@jest/globals';
import { GatewayError } from './gateway-error.js';
import { MAX_JSON_DEPTH, parseJsonBody } from './safe-json.js';

const parse = (text: string, limits?: { maxDepth: number; maxValues: number }) => parseJsonBody(Buffer.from(text, 'utf8'), limits);

function refusal(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayError);
    return error as GatewayError;
  }
  throw new Error('expected a refusal');
}

describe('parseJsonBody', () => {
  it('parses ordinary bodies, brackets and quotes inside strings included', () => {
    expect(parse('{"query":"[[[{{\\"x\\"","inputs":{"a":[1,2,{"b":null}]}}')).toEqual({ query: '[[[{{"x"', inputs: { a: [1, 2, { b: null }] } });
  });

  it(`accepts ${MAX_JSON_DEPTH} levels and refuses one more with a 400 in Dify's shape`, () => {
    const nested = (n: number) => '['.repeat(n) + ']'.repeat(n);
    expect(parse(`{"a":${nested(MAX_JSON_DEPTH - 1)}}`)).toBeDefined();
    const error = refusal(() => parse(`{"a":${nested(MAX_JSON_DEPTH)}}`));
    expect(error).toMatchObject({ status: 400, code: 'bad_request' });
    expect(error.message).toContain(`deeper than ${MAX_JSON_DEPTH}`);
  });

  it('refuses 30,000 nested arrays and a 1,000,000-deep object without exhausting the stack', () => {
    expect(refusal(() => parse('['.repeat(30_000) + ']'.repeat(30_000))).status).toBe(400);
    expect(refusal(() => parse('{"a":'.repeat(1_000_000) + '1' + '}'.repeat(1_000_000))).status).toBe(400);
  });

  it('refuses more values than allowed, counted without parsing', () => {
    const limits = { maxDepth: 8, maxValues: 100 };
    expect(parse(`{"a":[${Array(90).fill(1).join(',')}]}`, limits)).toBeDefined();
    const error = refusal(() => parse(`{"a":[${Array(200).fill(1).join(',')}]}`, limits));
    expect(error).toMatchObject({ status: 400, code: 'bad_request' });
    expect(error.message).toContain('more than 100 values');
    // Commas inside strings are text, not values.
    expect(parse(`{"a":"${','.repeat(500)}"}`, limits)).toEqual({ a: ','.repeat(500) });
  });

  it("answers invalid JSON with Dify's message", () => {
    expect(refusal(() => parse('{"a":'))).toMatchObject({ status: 400, message: 'Invalid JSON payload received or JSON payload is empty.' });
    expect(refusal(() => parse('"unterminated \\'))).toMatchObject({ status: 400 });
  });
});

import { format, inspect } from 'node:util';
import { ConsoleLogger } from '@nestjs/common';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Secret } from './secret.js';

const CANARY = 'app-CANARYcanary0123456789ab';

describe('Secret', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('reveals the value only through reveal()', () => {
    const secret = new Secret(CANARY);
    expect(secret.reveal()).toBe(CANARY);
    expect(secret.last4).toBe('89ab');
  });

  it('prints *** through String, templates, concatenation, JSON and util.inspect', () => {
    const secret = new Secret(CANARY);
    const outputs = [
      String(secret),
      `${secret}`,
      'key: ' + secret,
      JSON.stringify(secret),
      JSON.stringify({ nested: { secret } }),
      inspect(secret),
      inspect({ a: [secret] }, { depth: 10, showHidden: true }),
      inspect(secret, { customInspect: false, showHidden: true }),
      format('%s %o %O %j', secret, secret, secret, secret),
    ];
    for (const output of outputs) expect(output).not.toContain('CANARY');
    expect(String(secret)).toBe('***');
    expect(JSON.stringify({ secret })).toBe('{"secret":"***"}');
    expect(inspect(secret)).toBe('***');
  });

  it('has no enumerable own property holding the value', () => {
    const secret = new Secret(CANARY);
    expect(Object.entries(secret)).toEqual([]);
    expect(Object.getOwnPropertyNames(secret)).toEqual([]);
    expect({ ...secret }).toEqual({});
    expect(JSON.stringify(structuredClone({ ...secret }))).toBe('{}');
    expect(Object.isFrozen(secret)).toBe(true);
  });

  it('shows no characters in last4 for short values', () => {
    expect(new Secret('short-key').last4).toBe('');
    expect(new Secret('').last4).toBe('');
  });

  it('never reaches console.log output', () => {
    const spy = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    console.log(new Secret(CANARY), { key: new Secret(CANARY) });
    // console.log formats with util.inspect, which honours the custom inspect hook.
    const printed = format(...(spy.mock.calls[0] as unknown[]));
    expect(printed).toBe('*** { key: *** }');
  });

  it.each([
    ['text', false],
    ['json', true],
  ])('prints *** through Nest ConsoleLogger (%s)', (_name, json) => {
    const written: string[] = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const logger = new ConsoleLogger('SecretSpec', { json, colors: false });
    logger.log(new Secret(CANARY));
    logger.log({ apiKey: new Secret(CANARY) });
    logger.warn(`key=${new Secret(CANARY)}`);
    logger.error('failed', { url: new Secret(CANARY) });
    const output = written.join('');
    expect(output).toContain('***');
    expect(output).not.toContain('CANARY');
  });

  it('refuses a non-string value', () => {
    expect(() => new Secret(undefined as unknown as string)).toThrow(TypeError);
  });
});

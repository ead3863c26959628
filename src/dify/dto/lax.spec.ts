import { describe, expect, it } from '@jest/globals';
import { isPathUuid, isUuidOrEmpty, laxBoolean, laxNumber } from './lax.js';

describe('lax scalars (pydantic lax mode)', () => {
  it.each([
    [true, true],
    ['true', true],
    ['Yes', true],
    [1, true],
    ['1', true],
    ['on', true],
    [false, false],
    ['false', false],
    ['0', false],
    [0, false],
    ['off', false],
    ['maybe', undefined],
    [2, undefined],
    [null, undefined],
    [{}, undefined],
  ])('laxBoolean(%p) is %p', (value, expected) => {
    expect(laxBoolean(value)).toBe(expected);
  });

  it.each([
    [0.5, 0.5],
    ['0.5', 0.5],
    [' 1 ', 1],
    ['', undefined],
    ['half', undefined],
    [Infinity, undefined],
    [true, undefined],
  ])('laxNumber(%p) is %p', (value, expected) => expect(laxNumber(value)).toBe(expected));

  it('a body uuid may be blank or dashless; a path uuid needs its dashes', () => {
    const id = '0b0e9d7c-1f2a-4c3b-9d8e-7f6a5b4c3d2e';
    expect([isUuidOrEmpty(''), isUuidOrEmpty('  '), isUuidOrEmpty(id), isUuidOrEmpty(id.replace(/-/g, '')), isUuidOrEmpty('abc'), isUuidOrEmpty(5)]).toEqual([
      true,
      true,
      true,
      true,
      false,
      false,
    ]);
    expect([isPathUuid(id.toUpperCase()), isPathUuid(id.replace(/-/g, ''))]).toEqual([true, false]);
  });
});

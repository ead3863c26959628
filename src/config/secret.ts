import { inspect } from 'node:util';

const MASK = '***' as const;

/** Values shorter than this show no characters at all in `last4` (4 of 8 would be half the secret). */
const MIN_LENGTH_FOR_LAST4 = 12;

/**
 * A secret value (Dify key, database URL) that prints as `***` everywhere: `console.log`,
 * `JSON.stringify`, template strings, `String()`, `util.inspect` and Nest's logger. The value
 * lives in a private field, so it is not an enumerable own property either: `Object.entries`,
 * spread and `structuredClone` see nothing. Call `reveal()` only at the point of use (for
 * example when building the `Authorization` header), never to log.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    if (typeof value !== 'string') throw new TypeError('Secret value must be a string');
    this.#value = value;
    Object.freeze(this);
  }

  /** The real value. Use it where the secret is sent, never where it is written. */
  reveal(): string {
    return this.#value;
  }

  /** The last four characters, for masked summaries (`…abcd`); empty for short values. */
  get last4(): string {
    return this.#value.length >= MIN_LENGTH_FOR_LAST4 ? this.#value.slice(-4) : '';
  }

  toString(): typeof MASK {
    return MASK;
  }

  toJSON(): typeof MASK {
    return MASK;
  }

  [Symbol.toPrimitive](): typeof MASK {
    return MASK;
  }

  [inspect.custom](): typeof MASK {
    return MASK;
  }
}

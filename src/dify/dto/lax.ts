import { ValidateBy, type ValidationOptions } from 'class-validator';

/**
 * Checks with the leniency of Dify's pydantic models (lax mode): what Dify coerces, the gateway
 * accepts unchanged (Dify still does the coercion); what it refuses, the gateway refuses first.
 */
const TRUE_WORDS = new Set(['1', 'on', 't', 'true', 'y', 'yes']);
const FALSE_WORDS = new Set(['0', 'off', 'f', 'false', 'n', 'no']);
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** pydantic's lax bool: true/false, 0/1, and the words "true", "yes", "on", "1"... in any case. */
export function laxBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (value === 0 || value === 1) return value === 1;
  if (typeof value !== 'string') return undefined;
  const word = value.trim().toLowerCase();
  return TRUE_WORDS.has(word) ? true : FALSE_WORDS.has(word) ? false : undefined;
}

/** pydantic's lax float: a finite number, or a string holding one ("0.5"). */
export function laxNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const n = Number(value.trim());
  return Number.isFinite(n) ? n : undefined;
}

/** Dify's `UUIDStrOrEmpty` after its strip: a uuid (with or without dashes, any case) or blank. */
export function isUuidOrEmpty(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  return typeof value === 'string' && (value.trim() === '' || UUID.test(value.trim()));
}

/** werkzeug's `<uuid:…>` converter: the dashed form, any case (a path without dashes is a 404). */
const DASHED_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isPathUuid = (value: string): boolean => DASHED_UUID.test(value);

export const IsLaxBoolean = (options?: ValidationOptions) =>
  ValidateBy(
    { name: 'isLaxBoolean', validator: { validate: (v) => laxBoolean(v) !== undefined, defaultMessage: (a) => `${a?.property} must be a boolean` } },
    options,
  );

export const IsLaxNumber = (options?: ValidationOptions) =>
  ValidateBy(
    { name: 'isLaxNumber', validator: { validate: (v) => laxNumber(v) !== undefined, defaultMessage: (a) => `${a?.property} must be a number` } },
    options,
  );

export const IsUuidOrEmpty = (options?: ValidationOptions) =>
  ValidateBy({ name: 'isUuidOrEmpty', validator: { validate: isUuidOrEmpty, defaultMessage: (a) => `${a?.property} must be a valid UUID` } }, options);

/** The members the caller's JSON body had (class fields exist on every instance, sent or not). */
export const SENT_MEMBERS = Symbol('sentMembers');

/** Present as a member, whatever its value (pydantic `Any` without a default: `null` is fine). */
export const IsPresent = (options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'isPresent',
      validator: {
        validate: (_v, a) => (a!.object as { [SENT_MEMBERS]?: Set<string> })[SENT_MEMBERS]?.has(a!.property) ?? false,
        defaultMessage: (a) => `${a?.property} is required`,
      },
    },
    options,
  );

/** A string with something besides whitespace (Dify strips before it checks). */
export const IsNotBlank = (options?: ValidationOptions) =>
  ValidateBy(
    { name: 'isNotBlank', validator: { validate: (v) => typeof v === 'string' && v.trim() !== '', defaultMessage: (a) => `${a?.property} must not be blank` } },
    options,
  );

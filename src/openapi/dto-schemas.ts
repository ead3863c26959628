import { getMetadataStorage, ValidationTypes } from 'class-validator';
import { targetConstructorToSchema, validationMetadatasToSchemas } from 'class-validator-jsonschema';
import type { SchemaObject } from '@nestjs/swagger';
import { createRequire } from 'node:module';

// @Type(() => KeyLimitsDto) lives in class-transformer's storage: with it, nested bodies become $refs.
const { defaultMetadataStorage } = createRequire(import.meta.url)('class-transformer/cjs/storage.js') as { defaultMetadataStorage: object };
/** A class (a DTO or a validator constraint); class-validator's own signatures say `Function`. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- the type class-validator's API takes
type AnyClass = Function;
type ValidationMetadata = { constraintCls: AnyClass };

export const SCHEMA_REF_PREFIX = '#/components/schemas/';

/**
 * JSON schemas of the request DTOs, derived from their class-validator decorators: what the
 * document says a body may be is what the gateway checks, and the DTOs need no second set of
 * decorators to drift from the first. The lax checks (src/dify/dto/lax.ts) say what Dify
 * accepts in their own terms.
 */
const CUSTOM: Record<string, SchemaObject> = {
  isLaxBoolean: {
    oneOf: [{ type: 'boolean' }, { type: 'integer', enum: [0, 1] }, { type: 'string', description: 'true/false, yes/no, on/off, 1/0 (any case)' }],
  },
  isLaxNumber: { oneOf: [{ type: 'number' }, { type: 'string', description: 'a number as a string' }] },
  isUuidOrEmpty: { type: 'string', description: 'a UUID (with or without dashes) or blank' },
  isNotBlank: { type: 'string', pattern: '\\S' },
  isPresent: { description: 'required, any value (null included)' },
};

function customConstraintName(meta: ValidationMetadata): string | undefined {
  const constraints = getMetadataStorage().getTargetValidatorConstraints(meta.constraintCls);
  return constraints[0]?.name;
}

type Options = Parameters<typeof validationMetadatasToSchemas>[0];

// The two packages type a JSON schema each their own way; the objects are the same.
const OPTIONS = {
  refPointerPrefix: SCHEMA_REF_PREFIX,
  classTransformerMetadataStorage: defaultMetadataStorage,
  additionalConverters: {
    [ValidationTypes.CUSTOM_VALIDATION]: (meta: ValidationMetadata) => CUSTOM[customConstraintName(meta) ?? ''] ?? {},
  },
} as unknown as Options;

/**
 * Every class-validator DTO loaded, by class name (DTO names are unique in this project), and
 * the `classes` given: a subclass that adds no rule of its own (StopTaskDto) has no metadata of
 * its own, so it is listed only when asked for by name.
 */
export function dtoSchemas(classes: readonly AnyClass[] = []): Record<string, SchemaObject> {
  const schemas = validationMetadatasToSchemas(OPTIONS) as unknown as Record<string, SchemaObject>;
  for (const cls of classes) schemas[cls.name] ??= targetConstructorToSchema(cls, OPTIONS) as unknown as SchemaObject;
  return schemas;
}

/** One DTO's schema (its own rules and its parents'). */
export function dtoSchema(cls: AnyClass): SchemaObject {
  return targetConstructorToSchema(cls, OPTIONS) as unknown as SchemaObject;
}

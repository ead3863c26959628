import { isUuidOrEmpty } from './dto/lax.js';
import { GatewayErrors } from '../common/errors/gateway-errors.js';

/**
 * How Dify checks one query parameter (its pydantic query models and reqparse arguments):
 * - `required`: must be present and non-empty (`user` on a few GETs: "Arg user must be provided.");
 * - `{ int: [min, max] }`: an integer string in range, when given;
 * - `{ oneOf: [...] }`: one of these values, when given (blank counts as absent);
 * - `uuid`: a uuid, or blank; `uuid-required`: a uuid;
 * - `datetime`: an ISO 8601 date or date-time, when given;
 * - `{ pattern }`: matches, when given.
 */
export type QueryRule =
  'required' | 'uuid' | 'uuid-required' | 'datetime' | { int: readonly [number, number] } | { oneOf: readonly string[] } | { pattern: RegExp };

export type QueryRules = Readonly<Record<string, QueryRule>>;

const ISO_DATE = /^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}(:?\d{2})?)?)?$/;

/** Refuses, before anything is spent, a query Dify would refuse; returns nothing when it passes. */
export function checkQuery(rules: QueryRules | undefined, rawQuery: string): void {
  if (!rules) return;
  const params = new URLSearchParams(rawQuery);
  for (const [name, rule] of Object.entries(rules)) {
    const problem = queryProblem(name, rule, params.get(name));
    if (problem) throw GatewayErrors.invalidParam(problem);
  }
}

function queryProblem(name: string, rule: QueryRule, value: string | null): string | undefined {
  const absent = value === null || value.trim() === '';
  if (rule === 'required') return absent ? `Arg ${name} must be provided.` : undefined;
  if (rule === 'uuid-required') return absent || !isUuidOrEmpty(value) ? `${name} must be a valid UUID` : undefined;
  if (absent) return undefined;
  if (rule === 'uuid') return isUuidOrEmpty(value) ? undefined : `${name} must be a valid UUID`;
  if (rule === 'datetime') return ISO_DATE.test(value.trim()) && !Number.isNaN(Date.parse(value.trim())) ? undefined : `${name} must be a valid datetime`;
  if ('int' in rule) {
    const [min, max] = rule.int;
    if (!/^\s*[-+]?\d+\s*$/.test(value)) return `${name} must be an integer`;
    const n = Number(value);
    return n < min || n > max ? `${name} must be between ${min} and ${max}` : undefined;
  }
  if ('oneOf' in rule) return rule.oneOf.includes(value) ? undefined : `${name} must be one of ${rule.oneOf.join(', ')}`;
  return rule.pattern.test(value) ? undefined : `${name} has characters Dify does not allow`;
}

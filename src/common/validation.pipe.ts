import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { GatewayErrors } from './errors/gateway-errors.js';

/** DTOs nest a level or two; deeper validation errors add nothing a caller needs to read. */
const MAX_MESSAGE_DEPTH = 8;

/** The global pipe for the gateway's own endpoints (/admin, /audit): unknown fields are refused, 400 in Dify's shape. */
export function gatewayValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    transform: true,
    whitelist: true,
    forbidNonWhitelisted: true,
    exceptionFactory: (errors) => GatewayErrors.invalidParam(validationMessages(errors).join('; ') || 'invalid request'),
  });
}

/** Every constraint message, nested objects included (`limits.requestsPerMinute must ...`), to a bounded depth. */
function validationMessages(errors: ValidationError[], path = '', depth = 0): string[] {
  if (depth > MAX_MESSAGE_DEPTH) return [];
  return errors.flatMap((e) => {
    const prefix = path ? `${path}.` : '';
    const own = Object.values(e.constraints ?? {}).map((m) => (path ? `${prefix}${m}` : m));
    return [...own, ...validationMessages(e.children ?? [], `${prefix}${e.property}`, depth + 1)];
  });
}

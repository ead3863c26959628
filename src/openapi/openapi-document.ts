import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject, type OperationObject, type SchemaObject } from '@nestjs/swagger';
import { DIFY_ROUTES } from '../dify/dify.routes.js';
import { addDtoParameters, referencedSchemas } from './dto-parameters.js';
import { dtoSchema, dtoSchemas, SCHEMA_REF_PREFIX } from './dto-schemas.js';
import { ERROR_RESPONSE_REF, GATEWAY_KEY_SCHEME, V1_PREFIX, v1Paths } from './v1-paths.js';

export const OPENAPI_VERSION = '3.1.0';

/** Dify's error shape, which the gateway answers with on every surface (request_id added). */
const ERROR_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['code', 'message', 'status'],
  properties: {
    code: { type: 'string', examples: ['invalid_param'] },
    message: { type: 'string' },
    status: { type: 'integer', minimum: 400, maximum: 599 },
    request_id: { type: 'string', description: 'The x-request-id of the call, also in the logs and the audit log.' },
  },
};

/**
 * The gateway's OpenAPI document: its own controllers (admin, audit, health, metrics, console,
 * docs) as @nestjs/swagger sees them, and the /v1 surface generated from the route table in
 * place of the catch-all controller that serves it. Request bodies come from the DTOs'
 * class-validator rules (dto-schemas.ts). Security: a gateway key as a bearer token, the
 * operation's scope listed in its requirement (OpenAPI 3.1 allows roles for any scheme).
 */
export function buildOpenApiDocument(app: INestApplication, version: string): OpenAPIObject {
  const config = new DocumentBuilder()
    .setOpenAPIVersion(OPENAPI_VERSION)
    .setTitle('dify-gateway')
    .setDescription(
      "A gateway in front of the Dify Service API. `/v1` is Dify's API with a gateway key (`Authorization: Bearer dgw_…`) " +
        'in place of a Dify key; each operation lists the scope it needs. Errors are `{code, message, status}` as in Dify.',
    )
    .setVersion(version)
    .addSecurity(GATEWAY_KEY_SCHEME, { type: 'http', scheme: 'bearer', description: 'A gateway key (dgw_…); its scopes decide what it may call.' })
    .build();
  const nest = SwaggerModule.createDocument(app, config);
  addDtoParameters(nest, app, dtoSchema);
  const own = Object.entries(nest.paths).filter(([path]) => path !== V1_PREFIX && !path.startsWith(`${V1_PREFIX}/`));
  for (const [, item] of own) for (const op of Object.values(item) as OperationObject[]) op.responses.default ??= { $ref: ERROR_RESPONSE_REF };
  const paths = { ...Object.fromEntries(own), ...v1Paths() };
  const routeDtos = [...new Set(DIFY_ROUTES.flatMap((r) => (r.dto ? [r.dto] : [])))];
  const components = nest.components ?? {};
  const schemas = { ...components.schemas, ...dtoSchemas(routeDtos), Error: ERROR_SCHEMA } as Record<string, SchemaObject>;
  const error = { description: "An error, in Dify's shape", content: { 'application/json': { schema: { $ref: `${SCHEMA_REF_PREFIX}Error` } } } };
  return {
    ...nest,
    paths,
    components: {
      ...components,
      schemas: referencedSchemas({ paths, error }, schemas, SCHEMA_REF_PREFIX),
      responses: { ...components.responses, Error: error },
    },
  };
}

export { ERROR_RESPONSE_REF };

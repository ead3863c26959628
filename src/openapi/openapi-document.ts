import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject, type SchemaObject } from '@nestjs/swagger';
import { dtoSchemas } from './dto-schemas.js';
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
      'A gateway in front of the Dify Service API. `/v1` is Dify\'s API with a gateway key (`Authorization: Bearer dgw_…`) ' +
        'in place of a Dify key; each operation lists the scope it needs. Errors are `{code, message, status}` as in Dify.',
    )
    .setVersion(version)
    .addSecurity(GATEWAY_KEY_SCHEME, { type: 'http', scheme: 'bearer', description: 'A gateway key (dgw_…); its scopes decide what it may call.' })
    .build();
  const nest = SwaggerModule.createDocument(app, config);
  const paths = Object.fromEntries(Object.entries(nest.paths).filter(([path]) => path !== V1_PREFIX && !path.startsWith(`${V1_PREFIX}/`)));
  const components = nest.components ?? {};
  return {
    ...nest,
    paths: { ...paths, ...v1Paths() },
    components: {
      ...components,
      schemas: { ...components.schemas, ...dtoSchemas(), Error: ERROR_SCHEMA },
      responses: { ...components.responses, Error: { description: 'An error, in Dify\'s shape', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } } },
    },
  };
}

export { ERROR_RESPONSE_REF };

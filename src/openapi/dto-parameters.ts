import type { INestApplication } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum.js';
import { ModulesContainer } from '@nestjs/core';
import type { OpenAPIObject, OperationObject, ParameterObject, SchemaObject } from '@nestjs/swagger';

type ArgMetadata = Record<string, { index: number; data?: unknown }>;
type DtoClass = new () => object;

/** The `@Query() q: SomeDto` and `@Param() p: SomeDto` arguments of every controller method, by operation id. */
function wholeObjectArgs(app: INestApplication): Map<string, { in: 'query' | 'path'; dto: DtoClass }[]> {
  const byOperation = new Map<string, { in: 'query' | 'path'; dto: DtoClass }[]>();
  for (const mod of app.get(ModulesContainer).values()) {
    for (const wrapper of mod.controllers.values()) {
      const type = wrapper.metatype as DtoClass | undefined;
      if (!type) continue;
      for (const method of Object.getOwnPropertyNames(type.prototype)) {
        const args = Reflect.getMetadata(ROUTE_ARGS_METADATA, type, method) as ArgMetadata | undefined;
        const types = Reflect.getMetadata('design:paramtypes', type.prototype, method) as DtoClass[] | undefined;
        if (!args || !types) continue;
        const found: { in: 'query' | 'path'; dto: DtoClass }[] = [];
        for (const [key, arg] of Object.entries(args)) {
          const kind = Number(key.split(':')[0]);
          if (arg.data !== undefined || (kind !== RouteParamtypes.QUERY && kind !== RouteParamtypes.PARAM)) continue;
          found.push({ in: kind === RouteParamtypes.QUERY ? 'query' : 'path', dto: types[arg.index] });
        }
        if (found.length > 0) byOperation.set(`${type.name}_${method}`, found);
      }
    }
  }
  return byOperation;
}

/**
 * @nestjs/swagger lists a DTO's members as parameters only from @ApiProperty decorators; here
 * they come from the DTO's class-validator schema instead (the same rules that check them).
 */
export function addDtoParameters(doc: OpenAPIObject, app: INestApplication, schemaOf: (dto: DtoClass) => SchemaObject | undefined): void {
  const args = wholeObjectArgs(app);
  for (const item of Object.values(doc.paths)) {
    for (const op of Object.values(item) as OperationObject[]) {
      const found = op?.operationId ? args.get(op.operationId) : undefined;
      if (!found) continue;
      const params = (op.parameters ??= []) as ParameterObject[];
      for (const { in: where, dto } of found) {
        const schema = schemaOf(dto);
        for (const [name, prop] of Object.entries(schema?.properties ?? {})) {
          if (params.some((p) => p.name === name && p.in === where)) continue;
          params.push({ name, in: where, required: where === 'path' || (schema?.required ?? []).includes(name), schema: prop as SchemaObject });
        }
      }
    }
  }
}

/** Only the schemas the document refers to (directly or through another schema), not every class-validator class loaded. */
export function referencedSchemas(doc: object, schemas: Record<string, SchemaObject>, prefix: string): Record<string, SchemaObject> {
  const kept: Record<string, SchemaObject> = {};
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string' && value.startsWith(prefix)) {
        const name = value.slice(prefix.length);
        if (!(name in kept) && schemas[name]) {
          kept[name] = schemas[name];
          visit(schemas[name]);
        }
      } else visit(value);
    }
  };
  visit(doc);
  return kept;
}

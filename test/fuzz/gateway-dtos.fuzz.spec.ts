/**
 * Fuzz: the gateway's own endpoints. Admin bodies go through the admin body reader (size, depth
 * and value caps) and then the global ValidationPipe; /audit query strings through Express's
 * parser and the same pipe. Whatever comes in, the answer is the DTO or a 4xx GatewayError.
 */
import 'reflect-metadata';
import { describe, it } from '@jest/globals';
import { parse as parseQuery } from 'node:querystring';
import fc from 'fast-check';
import { CreateKeyDto, KeyIdDto, ListKeysQueryDto, RotateKeyDto, UpdateKeyDto } from '../../src/admin/dto/key.dto.js';
import { ADMIN_JSON_VALUES } from '../../src/admin/admin-json-body.interceptor.js';
import { AuditEventIdDto, AuditEventsQueryDto, AuditExportQueryDto } from '../../src/audit/read/dto/audit-events-query.dto.js';
import { AuditStatsQueryDto, AuditVerifyQueryDto } from '../../src/audit/read/dto/audit-report-query.dto.js';
import { MAX_JSON_DEPTH, parseJsonBody } from '../../src/common/safe-json.js';
import { gatewayValidationPipe } from '../../src/common/validation.pipe.js';
import { jsonValue, refusedOrValue, runs, trickyText } from './fuzz-support.js';

const pipe = gatewayValidationPipe();
const ADMIN_FIELDS = [
  'name',
  'scopes',
  'apps',
  'datasets',
  'namespace',
  'limits',
  'expiresAt',
  'graceSeconds',
  'requestsPerMinute',
  'constructor',
  '__proto__',
];

/** Admin bodies: the DTO's own fields with any JSON in them, nested `limits`, and unknown fields. */
const adminBody = fc.oneof(
  fc.dictionary(fc.oneof(fc.constantFrom(...ADMIN_FIELDS), trickyText(8)), jsonValue(4), { maxKeys: 8 }),
  fc.record(
    {
      name: fc.oneof(trickyText(70), jsonValue(2)),
      scopes: fc.oneof(fc.array(fc.constantFrom('chat', 'admin', 'audit:read', ''), { maxLength: 40 }), jsonValue(2)),
      limits: fc.oneof(
        fc.dictionary(fc.constantFrom('requestsPerMinute', 'dailyTokens', 'concurrentStreams', 'constructor', '__proto__', 'x'), jsonValue(3)),
        jsonValue(2),
      ),
      expiresAt: fc.oneof(
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        trickyText(30),
        jsonValue(1),
      ),
    },
    { requiredKeys: [] },
  ),
);

describe("fuzz: the gateway's own DTOs", () => {
  it('admin bodies: parsed with the admin caps, then validated, or refused with a 4xx GatewayError', async () => {
    const dtos = fc.constantFrom(CreateKeyDto, UpdateKeyDto, RotateKeyDto);
    await fc.assert(
      fc.asyncProperty(adminBody, dtos, async (body, dto) => {
        await refusedOrValue(async () => {
          const parsed = parseJsonBody(Buffer.from(JSON.stringify(body), 'utf8'), { maxDepth: MAX_JSON_DEPTH, maxValues: ADMIN_JSON_VALUES });
          return pipe.transform(parsed, { type: 'body', metatype: dto });
        });
      }),
      runs(1000),
    );
  });

  it('/admin and /audit query strings and ids: the DTO or a 4xx GatewayError', async () => {
    const queryDtos = fc.constantFrom(ListKeysQueryDto, AuditEventsQueryDto, AuditExportQueryDto, AuditStatsQueryDto, AuditVerifyQueryDto);
    const names = fc.constantFrom(
      'from',
      'to',
      'caller',
      'app',
      'route',
      'outcome',
      'status',
      'limit',
      'cursor',
      'format',
      'from_seq',
      'to_seq',
      'type',
      'end_user',
      'constructor',
      '__proto__',
      'status[]',
      'a[b]',
    );
    const values = fc.oneof(
      trickyText(30),
      fc.integer().map(String),
      fc.constantFrom('99999999999999999999', '-1', '1e3', '0x10', 'NaN', '', '2026-01-01T00:00:00Z'),
    );
    const query = fc
      .array(fc.tuple(fc.oneof(names, trickyText(6)), values), { maxLength: 8 })
      .map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'));
    await fc.assert(
      fc.asyncProperty(query, queryDtos, async (raw, dto) => {
        await refusedOrValue(() => pipe.transform({ ...parseQuery(raw) }, { type: 'query', metatype: dto }));
      }),
      runs(1500),
    );
    await fc.assert(
      fc.asyncProperty(trickyText(80), fc.constantFrom(KeyIdDto, AuditEventIdDto), async (id, dto) => {
        await refusedOrValue(() => pipe.transform({ id }, { type: 'param', metatype: dto }));
      }),
      runs(500),
    );
  });
});

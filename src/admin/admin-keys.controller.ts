import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query, UseGuards, UseInterceptors } from '@nestjs/common';
import { ApiSecurity, ApiTags } from '@nestjs/swagger';
import { Caller, type Actor } from '../auth/caller.decorator.js';
import { RequiresScope, ScopeGuard } from '../auth/scope.guard.js';
import type { ApiKeyLimits } from '../auth/api-key.repository.js';
import { AdminJsonBodyInterceptor } from './admin-json-body.interceptor.js';
import { AdminKeysService } from './admin-keys.service.js';
import { CreateKeyDto, KeyIdDto, ListKeysQueryDto, RotateKeyDto, UpdateKeyDto, type KeyLimitsDto } from './dto/key.dto.js';

/** Gateway keys, for keys with the `admin` scope: the same powers as `npm run cli -- keys`. */
@ApiTags('admin')
@ApiSecurity('gatewayKey', ['admin'])
@Controller('admin/keys')
@UseGuards(ScopeGuard)
@RequiresScope('admin')
// After the guard: bodies are read only for admin keys.
@UseInterceptors(AdminJsonBodyInterceptor)
export class AdminKeysController {
  constructor(private readonly admin: AdminKeysService) {}

  @Post()
  create(@Caller() actor: Actor, @Body() body: CreateKeyDto) {
    return this.admin.create(actor, {
      name: body.name,
      scopes: body.scopes,
      apps: body.apps ?? [],
      datasets: body.datasets,
      namespace: body.namespace,
      limits: limitsOf(body.limits),
      expiresAt: dateOf(body.expiresAt),
    });
  }

  @Get()
  async list(@Query() query: ListKeysQueryDto) {
    return { data: await this.admin.list(query.status) };
  }

  @Get(':id')
  get(@Param() { id }: KeyIdDto) {
    return this.admin.get(id);
  }

  @Patch(':id')
  update(@Caller() actor: Actor, @Param() { id }: KeyIdDto, @Body() body: UpdateKeyDto) {
    return this.admin.update(actor, id, {
      name: body.name,
      scopes: body.scopes,
      apps: body.apps,
      datasets: body.datasets,
      limits: body.limits ? limitsOf(body.limits) : undefined,
      expiresAt: dateOf(body.expiresAt),
    });
  }

  @Post(':id/rotate')
  @HttpCode(200)
  rotate(@Caller() actor: Actor, @Param() { id }: KeyIdDto, @Body() body: RotateKeyDto) {
    return this.admin.rotate(actor, id, body.graceSeconds);
  }

  @Post(':id/revoke')
  @HttpCode(200)
  revoke(@Caller() actor: Actor, @Param() { id }: KeyIdDto) {
    return this.admin.revoke(actor, id);
  }
}

/** Only the limits the body names: absent stays as is, null goes back to the default. */
function limitsOf(dto: KeyLimitsDto | undefined): Partial<ApiKeyLimits> | undefined {
  if (!dto) return undefined;
  const out: Partial<ApiKeyLimits> = {};
  for (const name of ['requestsPerMinute', 'concurrentStreams', 'dailyTokens'] as const) {
    if (dto[name] !== undefined) out[name] = dto[name];
  }
  return out;
}

/** undefined: unchanged; null: none; a string: that time. */
function dateOf(value: string | null | undefined): Date | null | undefined {
  return value === undefined || value === null ? value : new Date(value);
}

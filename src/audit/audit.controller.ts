import { Controller, Get, Param, Query, Res, UseGuards } from '@nestjs/common';
import { ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Caller, type Actor } from '../auth/caller.decorator.js';
import { RequiresScope, ScopeGuard } from '../auth/scope.guard.js';
import { AuditQueryService } from './read/audit-query.service.js';
import { AuditEventIdDto, AuditEventsQueryDto, AuditExportQueryDto } from './read/dto/audit-events-query.dto.js';
import { AuditStatsQueryDto, AuditVerifyQueryDto } from './read/dto/audit-report-query.dto.js';

/** Compliance reads of the audit log; needs a key with the `audit:read` scope. Every read is itself recorded. */
@ApiTags('audit')
@ApiSecurity('gatewayKey', ['audit:read'])
@Controller('audit')
@UseGuards(ScopeGuard)
@RequiresScope('audit:read')
export class AuditController {
  constructor(private readonly queries: AuditQueryService) {}

  @Get('events')
  list(@Query() query: AuditEventsQueryDto, @Caller() actor: Actor) {
    return this.queries.list(query, actor);
  }

  @Get('events/:id')
  get(@Param() params: AuditEventIdDto, @Caller() actor: Actor) {
    return this.queries.get(params.id, actor);
  }

  @Get('export')
  export(@Query() query: AuditExportQueryDto, @Caller() actor: Actor, @Res() res: Response): Promise<void> {
    return this.queries.export(query, actor, res);
  }

  @Get('stats')
  stats(@Query() query: AuditStatsQueryDto, @Caller() actor: Actor) {
    return this.queries.stats(query, actor);
  }

  @Get('verify')
  verify(@Query() query: AuditVerifyQueryDto, @Caller() actor: Actor) {
    return this.queries.verify(query, actor);
  }
}

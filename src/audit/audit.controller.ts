import { Controller, Get, Param, Query, Req, Res, UseGuards } from '@nestjs/common';
import { ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { RequiresScope, ScopeGuard, type AuthenticatedRequest } from '../auth/scope.guard.js';
import { requestIdOf } from '../common/request-id.middleware.js';
import { AuditQueryService } from './read/audit-query.service.js';
import type { AuditActor } from './audit.service.js';
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
  list(@Query() query: AuditEventsQueryDto, @Req() req: AuthenticatedRequest) {
    return this.queries.list(query, actorOf(req));
  }

  @Get('events/:id')
  get(@Param() params: AuditEventIdDto, @Req() req: AuthenticatedRequest) {
    return this.queries.get(params.id, actorOf(req));
  }

  @Get('export')
  export(@Query() query: AuditExportQueryDto, @Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    return this.queries.export(query, actorOf(req), res);
  }

  @Get('stats')
  stats(@Query() query: AuditStatsQueryDto, @Req() req: AuthenticatedRequest) {
    return this.queries.stats(query, actorOf(req));
  }

  @Get('verify')
  verify(@Query() query: AuditVerifyQueryDto, @Req() req: AuthenticatedRequest) {
    return this.queries.verify(query, actorOf(req));
  }
}

function actorOf(req: AuthenticatedRequest): AuditActor {
  return { keyId: req.caller?.keyId ?? null, name: req.caller?.name ?? null, requestId: requestIdOf(req) };
}

import { Controller, Get, Param, Query, UseGuards } from '@nestjs/common';
import { RequiresScope, ScopeGuard } from '../auth/scope.guard.js';
import { AuditService } from './audit.service.js';
import { AuditEventIdDto, AuditEventsQueryDto } from './dto/audit-events-query.dto.js';

/** Compliance reads of the call log; needs a key with the `audit:read` scope. */
@Controller('audit')
@UseGuards(ScopeGuard)
@RequiresScope('audit:read')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get('events')
  list(@Query() query: AuditEventsQueryDto) {
    return this.audit.search(query);
  }

  @Get('events/:id')
  get(@Param() params: AuditEventIdDto) {
    return this.audit.findOne(params.id);
  }
}

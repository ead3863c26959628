import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, IsUUID, Matches, Max, MaxLength, Min } from 'class-validator';
import { EVENT_TYPES, OUTCOMES, type EventType, type Outcome } from '../../audit-event.js';

export { OUTCOMES, type Outcome } from '../../audit-event.js';

export const EXPORT_FORMATS = ['csv', 'ndjson'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** A time range, `[from, to)` on the record time: every audit read takes one. */
export class AuditTimeRangeDto {
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;
}

/** Who and where: the filters the list, the export and the statistics share. */
export class AuditScopeDto extends AuditTimeRangeDto {
  /** Caller key id. */
  @IsOptional()
  @IsUUID()
  caller?: string;

  /** Dify app alias. */
  @IsOptional()
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9_-]{0,62}$/)
  app?: string;
}

/** Filters shared by the list and the export; every filter is an exact match. */
export class AuditFilterDto extends AuditScopeDto {
  /** Route template under /v1, e.g. `/chat-messages` or `/workflows/run` (`unmatched`: a path not on the allow-list). */
  @IsOptional()
  @IsString()
  @Matches(/^(\/[A-Za-z0-9_:/-]{0,199}|unmatched)$/)
  route?: string;

  @IsOptional()
  @IsIn(OUTCOMES)
  outcome?: Outcome;

  /** HTTP status the caller got. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(599)
  status?: number;

  @IsOptional()
  @IsString()
  @MaxLength(128)
  request_id?: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  conversation_id?: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  message_id?: string;

  /** The end user (`user` of the Dify call). */
  @IsOptional()
  @IsString()
  @MaxLength(512)
  user?: string;

  @IsOptional()
  @IsIn(EVENT_TYPES)
  type?: EventType;

  @IsOptional()
  @IsUUID()
  call_id?: string;
}

export class AuditEventsQueryDto extends AuditFilterDto {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}

export class AuditExportQueryDto extends AuditFilterDto {
  @IsIn(EXPORT_FORMATS)
  format: ExportFormat;
}

export class AuditEventIdDto {
  @IsUUID()
  id: string;
}

import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { AuditScopeDto, AuditTimeRangeDto } from './audit-events-query.dto.js';

export const STATS_DIMENSIONS = ['day', 'caller', 'app'] as const;
export const DEFAULT_STATS_PAGE_SIZE = 1_000;
export const MAX_STATS_PAGE_SIZE = 10_000;

export class AuditStatsQueryDto extends AuditScopeDto {
  /** Comma-separated subset of day, caller, app. Default: all three. */
  @IsOptional()
  @IsString()
  @Matches(/^(day|caller|app)(,(day|caller|app)){0,2}$/, { message: 'group_by must list day, caller and/or app, comma-separated' })
  group_by?: string;

  /** Groups per page (default 1,000): a month by day, caller and app is tens of thousands. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_STATS_PAGE_SIZE)
  limit?: number;

  /** `next_cursor` of the page before, with the same filters and group_by. */
  @IsOptional()
  @IsString()
  @MaxLength(600)
  cursor?: string;
}

/** Larger numbers lose precision as JSON numbers (and `seq` is a Postgres bigint): a 400, not a 500. */
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;

export class AuditVerifyQueryDto extends AuditTimeRangeDto {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_SEQ)
  from_seq?: number;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_SEQ)
  to_seq?: number;
}

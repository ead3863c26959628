import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { AuditScopeDto, AuditTimeRangeDto } from './audit-events-query.dto.js';

export const STATS_DIMENSIONS = ['day', 'caller', 'app'] as const;

export class AuditStatsQueryDto extends AuditScopeDto {
  /** Comma-separated subset of day, caller, app. Default: all three. */
  @IsOptional()
  @IsString()
  @Matches(/^(day|caller|app)(,(day|caller|app)){0,2}$/, { message: 'group_by must list day, caller and/or app, comma-separated' })
  group_by?: string;
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

import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Min } from 'class-validator';
import { AuditScopeDto, AuditTimeRangeDto } from './audit-events-query.dto.js';

export const STATS_DIMENSIONS = ['day', 'caller', 'app'] as const;

export class AuditStatsQueryDto extends AuditScopeDto {
  /** Comma-separated subset of day, caller, app. Default: all three. */
  @IsOptional() @IsString() @Matches(/^(day|caller|app)(,(day|caller|app)){0,2}$/, { message: 'group_by must list day, caller and/or app, comma-separated' })
  group_by?: string;
}

export class AuditVerifyQueryDto extends AuditTimeRangeDto {
  @IsOptional() @Type(() => Number) @IsInt() @Min(1)
  from_seq?: number;

  @IsOptional() @Type(() => Number) @IsInt() @Min(1)
  to_seq?: number;
}

import { Type } from 'class-transformer';
import { IsInt, IsISO8601, IsOptional, IsString, IsUUID, Matches, Min } from 'class-validator';

export const STATS_DIMENSIONS = ['day', 'caller', 'app'] as const;

export class AuditStatsQueryDto {
  @IsOptional() @IsISO8601({ strict: true })
  from?: string;

  @IsOptional() @IsISO8601({ strict: true })
  to?: string;

  @IsOptional() @IsUUID()
  caller?: string;

  @IsOptional() @IsString() @Matches(/^[a-z0-9][a-z0-9_-]{0,62}$/)
  app?: string;

  /** Comma-separated subset of day, caller, app. Default: all three. */
  @IsOptional() @IsString() @Matches(/^(day|caller|app)(,(day|caller|app)){0,2}$/, { message: 'group_by must list day, caller and/or app, comma-separated' })
  group_by?: string;
}

export class AuditVerifyQueryDto {
  @IsOptional() @IsISO8601({ strict: true })
  from?: string;

  @IsOptional() @IsISO8601({ strict: true })
  to?: string;

  @IsOptional() @Type(() => Number) @IsInt() @Min(1)
  from_seq?: number;

  @IsOptional() @Type(() => Number) @IsInt() @Min(1)
  to_seq?: number;
}

import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, IsUUID, Matches, Max, MaxLength, Min } from 'class-validator';

export const OUTCOMES = ['success', 'client_error', 'rejected', 'upstream_error', 'timeout', 'cancelled', 'stream_error'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export class AuditEventsQueryDto {
  @IsOptional() @IsISO8601({ strict: true })
  from?: string;

  @IsOptional() @IsISO8601({ strict: true })
  to?: string;

  /** Caller key id. */
  @IsOptional() @IsUUID()
  caller?: string;

  /** Dify app alias. */
  @IsOptional() @IsString() @Matches(/^[a-z0-9][a-z0-9_-]{0,62}$/)
  app?: string;

  @IsOptional() @IsIn(OUTCOMES)
  outcome?: Outcome;

  @IsOptional() @Type(() => Number) @IsInt() @Min(100) @Max(599)
  status?: number;

  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(200)
  limit?: number;

  @IsOptional() @IsString() @MaxLength(200)
  cursor?: string;
}

export class AuditEventIdDto {
  @IsUUID()
  id: string;
}

import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsISO8601,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';

/**
 * Bodies of the admin API. They check shapes only; what the values may be (known scopes and
 * apps, name and namespace formats, future expiry) is checked by ApiKeyService, the one place
 * the CLI goes through too.
 */

/** null: the gateway's default; 0: no limit. */
export class KeyLimitsDto {
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  requestsPerMinute?: number | null;

  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsInt()
  @Min(0)
  @Max(100_000)
  concurrentStreams?: number | null;

  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsInt()
  @Min(0)
  @Max(2_000_000_000)
  dailyTokens?: number | null;
}

export class CreateKeyDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  name: string;

  @IsArray()
  @ArrayMaxSize(32)
  @IsString({ each: true })
  scopes: string[];

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  apps?: string[];

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1000)
  @IsString({ each: true })
  datasets?: string[];

  @IsOptional()
  @IsString()
  @MaxLength(32)
  namespace?: string;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => KeyLimitsDto)
  limits?: KeyLimitsDto;

  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsISO8601({ strict: true })
  expiresAt?: string | null;
}

/** Everything optional; `namespace` cannot change (data already lives under it in Dify). */
export class UpdateKeyDto {
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  name?: string;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(32)
  @IsString({ each: true })
  scopes?: string[];

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  apps?: string[];

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1000)
  @IsString({ each: true })
  datasets?: string[];

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => KeyLimitsDto)
  limits?: KeyLimitsDto;

  /** null: never expires. */
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsISO8601({ strict: true })
  expiresAt?: string | null;
}

export class RotateKeyDto {
  /** How long the old secret keeps working; default `KEY_ROTATION_GRACE_SECONDS`. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(30 * 86_400)
  graceSeconds?: number;
}

export class KeyIdDto {
  @IsUUID()
  id: string;
}

export class ListKeysQueryDto {
  @IsOptional()
  @IsIn(['active', 'expired', 'revoked'])
  status?: 'active' | 'expired' | 'revoked';
}

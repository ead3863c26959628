import { IsArray, IsIn, IsNotEmpty, IsObject, IsOptional, IsString, MaxLength } from 'class-validator';
import { IsLaxBoolean, IsUuidOrEmpty } from './lax.js';

/**
 * Request bodies the gateway checks before spending quota. They reject only what Dify itself
 * would reject (§4.1 and §13 of the contract); unknown fields pass through untouched. A numeric
 * `user` has already been turned into its string by readJsonBody, as Dify's `str()` does.
 */
export const RESPONSE_MODES = ['blocking', 'streaming'] as const;
export const USER_MAX_LENGTH = 255;

export class EndUserDto {
  @IsString()
  @IsNotEmpty({ message: 'Arg user must be provided.' })
  @MaxLength(USER_MAX_LENGTH)
  user: string;
}

export class OptionalEndUserDto {
  @IsOptional()
  @IsString()
  @MaxLength(USER_MAX_LENGTH)
  user?: string;
}

class GenerationDto extends EndUserDto {
  @IsObject({ message: 'inputs must be an object (send {} if none)' })
  inputs: Record<string, unknown>;

  @IsOptional()
  @IsIn(RESPONSE_MODES, { message: "response_mode must be 'blocking' or 'streaming'" })
  response_mode?: (typeof RESPONSE_MODES)[number];

  @IsOptional()
  @IsArray()
  files?: unknown[];
}

export class ChatMessageDto extends GenerationDto {
  @IsString()
  query: string;

  @IsOptional()
  @IsUuidOrEmpty({ message: 'conversation_id must be a valid UUID' })
  conversation_id?: string;

  @IsOptional()
  @IsLaxBoolean()
  auto_generate_name?: boolean | string | number;

  @IsOptional()
  @IsString()
  workflow_id?: string;
}

export class CompletionMessageDto extends GenerationDto {
  @IsOptional()
  @IsString()
  query?: string;
}

export class WorkflowRunDto extends GenerationDto {}

export class StopTaskDto extends EndUserDto {}

import { IsArray, IsIn, IsNotEmpty, IsOptional, IsString } from 'class-validator';
import { IsNotBlank } from './lax.js';

/**
 * Knowledge API bodies, checked as Dify's dataset controllers check them (their pydantic
 * payloads): only the required members and their types; the rest passes to Dify untouched.
 */
export class DatasetCreateDto {
  @IsNotBlank({ message: 'name is required' })
  name: string;
}

export class RetrieveDto {
  @IsNotBlank({ message: 'query is required' })
  query: string;
}

export class DocumentByTextDto {
  @IsString()
  @IsNotEmpty({ message: 'name is required' })
  name: string;

  @IsString()
  @IsNotEmpty({ message: 'text is required' })
  text: string;
}

export class DocumentUpdateByTextDto {
  @IsOptional()
  @IsString()
  name?: string;

  @IsOptional()
  @IsString()
  text?: string;
}

export class SegmentsCreateDto {
  @IsArray({ message: 'segments must be a list' })
  segments: unknown[];
}

export class ChildChunkDto {
  @IsString()
  @IsNotEmpty({ message: 'content is required' })
  content: string;
}

export class MetadataCreateDto {
  @IsIn(['string', 'number', 'time'], { message: "type must be 'string', 'number' or 'time'" })
  type: string;

  @IsString()
  @IsNotEmpty({ message: 'name is required' })
  name: string;
}

export class MetadataUpdateDto {
  @IsString()
  @IsNotEmpty({ message: 'name is required' })
  name: string;
}

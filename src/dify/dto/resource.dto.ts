import { IsBoolean, IsDefined, IsIn, IsNotEmpty, IsNumber, IsObject, IsOptional, IsString, MaxLength, ValidateIf } from 'class-validator';
import { EndUserDto, OptionalEndUserDto, USER_MAX_LENGTH } from './generation.dto.js';

export class FeedbackDto extends EndUserDto {
  @ValidateIf((dto: FeedbackDto) => dto.rating !== null && dto.rating !== undefined)
  @IsIn(['like', 'dislike'], { message: "rating must be 'like', 'dislike' or null" })
  rating?: 'like' | 'dislike' | null;

  @IsOptional() @IsString()
  content?: string;
}

export class RenameConversationDto extends OptionalEndUserDto {
  @ValidateIf((dto: RenameConversationDto) => dto.auto_generate !== true)
  @IsString() @IsNotEmpty({ message: 'name is required unless auto_generate is true' })
  name?: string;

  @IsOptional() @IsBoolean()
  auto_generate?: boolean;
}

export class DeleteConversationDto extends OptionalEndUserDto {}

export class UpdateVariableDto extends OptionalEndUserDto {
  @IsDefined({ message: 'value is required' })
  value: unknown;
}

export class TextToAudioDto {
  @IsOptional() @IsString()
  message_id?: string;

  @ValidateIf((dto: TextToAudioDto) => !dto.message_id)
  @IsString({ message: 'text or message_id is required' })
  text?: string;

  @IsOptional() @IsString() @MaxLength(USER_MAX_LENGTH)
  user?: string;

  @IsOptional() @IsString()
  voice?: string;

  @IsOptional() @IsBoolean()
  streaming?: boolean;
}

export class HumanInputSubmitDto extends EndUserDto {
  @IsObject()
  inputs: Record<string, unknown>;

  @IsString() @IsNotEmpty()
  action: string;
}

export class AnnotationDto {
  @IsString() @IsNotEmpty()
  question: string;

  @IsString() @IsNotEmpty()
  answer: string;
}

export class AnnotationReplyDto {
  @IsString() @IsNotEmpty()
  embedding_provider_name: string;

  @IsString() @IsNotEmpty()
  embedding_model_name: string;

  @IsNumber()
  score_threshold: number;
}

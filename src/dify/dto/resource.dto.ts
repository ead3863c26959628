import { IsIn, IsNotEmpty, IsObject, IsOptional, IsString, MaxLength, ValidateBy, ValidateIf } from 'class-validator';
import { IsLaxBoolean, IsLaxNumber, IsPresent, laxBoolean } from './lax.js';
import { EndUserDto, OptionalEndUserDto, USER_MAX_LENGTH } from './generation.dto.js';

export class FeedbackDto extends EndUserDto {
  @ValidateIf((dto: FeedbackDto) => dto.rating !== null && dto.rating !== undefined)
  @IsIn(['like', 'dislike'], { message: "rating must be 'like', 'dislike' or null" })
  rating?: 'like' | 'dislike' | null;

  @IsOptional()
  @IsString()
  content?: string;
}

export class RenameConversationDto extends OptionalEndUserDto {
  /** A string whenever given; required and not blank unless auto_generate is (leniently) true. */
  @ValidateBy({
    name: 'isRenameName',
    validator: {
      validate: (name: unknown, a) => {
        const auto = laxBoolean((a!.object as RenameConversationDto).auto_generate) === true;
        if (name === undefined || name === null) return auto;
        return typeof name === 'string' && (auto || name.trim() !== '');
      },
      defaultMessage: () => 'name is required when auto_generate is false (and must be a string)',
    },
  })
  name?: string;

  @IsOptional()
  @IsLaxBoolean()
  auto_generate?: boolean | string | number;
}

export class DeleteConversationDto extends OptionalEndUserDto {}

export class UpdateVariableDto extends OptionalEndUserDto {
  /** Any JSON value, `null` included; only its absence is refused. */
  @IsPresent({ message: 'value is required' })
  value: unknown;
}

export class TextToAudioDto {
  @IsOptional()
  @IsString()
  message_id?: string;

  @ValidateIf((dto: TextToAudioDto) => !dto.message_id)
  @IsString({ message: 'text or message_id is required' })
  text?: string;

  @IsOptional()
  @IsString()
  @MaxLength(USER_MAX_LENGTH)
  user?: string;

  @IsOptional()
  @IsString()
  voice?: string;

  /** Dify reads `streaming` as any JSON value (§13.7): not checked. */
  streaming?: unknown;
}

export class HumanInputSubmitDto extends EndUserDto {
  @IsObject()
  inputs: Record<string, unknown>;

  @IsString()
  @IsNotEmpty()
  action: string;
}

/** Empty strings are valid annotations in Dify (§13.7); only a missing or non-string field is not. */
export class AnnotationDto {
  @IsString()
  question: string;

  @IsString()
  answer: string;
}

/** Dify's newest controller answers an invalid payload here with 422 (§13.4). */
export class AnnotationReplyDto {
  static readonly refusal = { status: 422, code: 'unprocessable_entity' };

  @IsString()
  @IsNotEmpty()
  embedding_provider_name: string;

  @IsString()
  @IsNotEmpty()
  embedding_model_name: string;

  @IsLaxNumber()
  score_threshold: number | string;
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsString, Length, Matches } from 'class-validator';
import { ROLES, type Role } from '#core';

export class CreateKeyDto {
  /** What the key is for, e.g. "agents-prod" or "ci-deploy". */
  @ApiProperty({ example: 'agents-prod', minLength: 1, maxLength: 128 })
  @IsString() @Length(1, 128) @Matches(/^[^\u0000-\u001f\u007f]+$/, { message: 'name must not contain control characters' })
  name!: string;

  /** agent < viewer < operator < admin; each includes the ones before it. */
  @ApiProperty({ enum: ROLES, example: 'agent' })
  @IsIn(ROLES, { message: `role must be one of: ${ROLES.join(', ')}` })
  role!: Role;
}

export class ApiKeyDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: ROLES }) role!: Role;
  /** The key's first characters, to tell keys apart. */
  @ApiProperty({ example: 'nf_Xq3v9Ab' }) prefix!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  /** Updated at most every KEY_LAST_USED_FLUSH_SECONDS. */
  @ApiPropertyOptional({ format: 'date-time', nullable: true }) lastUsedAt!: string | null;
  @ApiPropertyOptional({ format: 'date-time', nullable: true }) revokedAt!: string | null;
}

export class CreatedApiKeyDto extends ApiKeyDto {
  /** The plain key. Shown this once: store it now, it cannot be read again. */
  @ApiProperty({ example: 'nf_Xq3v9Ab…' }) key!: string;
}

export class ApiKeyPageDto {
  @ApiProperty({ type: [ApiKeyDto] }) items!: ApiKeyDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

export class WhoAmIDto {
  @ApiProperty({ format: 'uuid' }) keyId!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: ROLES }) role!: Role;
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsISO8601, IsOptional, IsString, Length, Matches } from 'class-validator';
import { PageQueryDto } from '../common/pagination.dto.js';

const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export class CreateRecoveryPointDto {
  @ApiProperty({ pattern: NAME.source, example: 'orders-db' }) @IsString() @Matches(NAME, { message: 'service must match ^[a-z0-9][a-z0-9._-]{0,62}$' })
  service!: string;

  /** When the backed-up data was taken: the point the service can be restored to. */
  @ApiProperty({ format: 'date-time', example: '2026-11-25T03:00:00Z' }) @IsISO8601({ strict: true }, { message: 'at must be an ISO-8601 time' })
  at!: string;

  /** Where the backup is: s3://bucket/key, a path, a snapshot id. */
  @ApiPropertyOptional({ maxLength: 1024, example: 's3://backups/orders-db/2026-11-25.dump' }) @IsOptional() @IsString() @Length(1, 1024)
  location?: string;
}

export class RecoveryPointDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() service!: string;
  @ApiProperty({ format: 'date-time' }) at!: string;
  @ApiProperty({ type: String, nullable: true }) location!: string | null;
  @ApiProperty({ format: 'date-time' }) recordedAt!: string;
}

export class RecoveryPointPageDto {
  @ApiProperty({ type: [RecoveryPointDto] }) items!: RecoveryPointDto[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}

export class RecoveryPointListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ pattern: NAME.source }) @IsOptional() @IsString() @Matches(NAME, { message: 'service must match ^[a-z0-9][a-z0-9._-]{0,62}$' })
  service?: string;
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsString, Length, Matches, Max, MaxLength, Min } from 'class-validator';
import { PageQueryDto } from '../common/pagination.dto.js';

const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export class CreateCheckDto {
  @ApiProperty({ pattern: NAME.source, example: 'checkout' }) @IsString() @Matches(NAME, { message: 'service must match ^[a-z0-9][a-z0-9._-]{0,62}$' })
  service!: string;

  /** The instance the results count for (default: derived from the target, e.g. "api.example.com-443"). */
  @ApiPropertyOptional({ pattern: NAME.source }) @IsOptional() @IsString() @Matches(NAME, { message: 'instance must match ^[a-z0-9][a-z0-9._-]{0,62}$' })
  instance?: string;

  @ApiProperty({ enum: ['http', 'tcp'] }) @IsIn(['http', 'tcp'], { message: 'type must be one of http, tcp' })
  type!: 'http' | 'tcp';

  /** A URL for http checks, host:port for tcp checks. */
  @ApiProperty({ example: 'https://checkout.internal/healthz' }) @IsString() @Length(1, 2048)
  target!: string;

  /** Seconds between runs (default 10, as the agent's checks). */
  @ApiPropertyOptional({ minimum: 1, maximum: 3600, default: 10 }) @IsOptional() @IsInt() @Min(1) @Max(3600)
  intervalSeconds?: number;

  /** How long a run may take (default 2,000 ms, or half the interval when that is shorter, as the agent's checks). */
  @ApiPropertyOptional({ minimum: 100, maximum: 60000, default: 2000 }) @IsOptional() @IsInt() @Min(100) @Max(60_000)
  timeoutMs?: number;

  /** Expected HTTP status; without it any 2xx or 3xx passes. */
  @ApiPropertyOptional({ minimum: 100, maximum: 599 }) @IsOptional() @IsInt() @Min(100) @Max(599)
  expectStatus?: number;

  /** A substring the HTTP body must contain (first 64 KiB). */
  @ApiPropertyOptional({ maxLength: 1024 }) @IsOptional() @IsString() @MaxLength(1024)
  expectBody?: string;

  /** Failed runs in a row reported as degraded before the instance is reported down. */
  @ApiPropertyOptional({ minimum: 0, maximum: 10, default: 1 }) @IsOptional() @IsInt() @Min(0) @Max(10)
  retries?: number;

  /** worker: run by the control plane's workers; probers: by the connected prober agents. */
  @ApiPropertyOptional({ enum: ['worker', 'probers'], default: 'worker' }) @IsOptional() @IsIn(['worker', 'probers'], { message: 'runOn must be one of worker, probers' })
  runOn?: 'worker' | 'probers';
}

export class CheckListQueryDto extends PageQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @Matches(NAME, { message: 'service must match ^[a-z0-9][a-z0-9._-]{0,62}$' })
  service?: string;
}

export class CheckStatusDto {
  @ApiProperty() ok!: boolean;
  @ApiProperty() latencyMs!: number;
  @ApiPropertyOptional() status?: number;
  @ApiPropertyOptional() error?: string;
  @ApiPropertyOptional({ format: 'date-time' }) certExpiresAt?: string;
  /** Days until the server's TLS certificate expires (https targets). */
  @ApiPropertyOptional() certDaysLeft?: number;
  @ApiProperty({ format: 'date-time' }) at!: string;
  @ApiProperty() consecutiveFailures!: number;
  @ApiProperty({ enum: ['up', 'degraded', 'down'] }) reported!: string;
  @ApiProperty() ranBy!: string;
}

export class CheckDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() service!: string;
  @ApiProperty() instance!: string;
  @ApiProperty({ enum: ['http', 'tcp'] }) type!: string;
  @ApiProperty() target!: string;
  @ApiProperty() intervalSeconds!: number;
  @ApiProperty() timeoutMs!: number;
  @ApiProperty({ nullable: true, type: Number }) expectStatus!: number | null;
  @ApiProperty({ nullable: true, type: String }) expectBody!: string | null;
  @ApiProperty() retries!: number;
  @ApiProperty({ enum: ['worker', 'probers'] }) runOn!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ type: CheckStatusDto, nullable: true }) last!: CheckStatusDto | null;
}

export class CheckPageDto {
  @ApiProperty({ type: [CheckDto] }) items!: CheckDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

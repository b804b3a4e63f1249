import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsInt, IsNumber, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';

const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export class PollQueryDto {
  /** Seconds to wait for a task before answering with none (long poll). */
  @ApiPropertyOptional({ minimum: 0, maximum: 30, default: 20 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(30)
  wait: number = 20;

  /** Tells apart several probers that share one API key. */
  @ApiPropertyOptional({ default: 'default' })
  @IsOptional() @IsString() @Matches(NAME, { message: 'name must match ^[a-z0-9][a-z0-9._-]{0,62}$' })
  name: string = 'default';

  /** Where the prober runs: rounds prefer probers of different zones. */
  @ApiPropertyOptional() @IsOptional() @IsString() @Matches(NAME, { message: 'zone must match ^[a-z0-9][a-z0-9._-]{0,62}$' })
  zone?: string;

  @ApiPropertyOptional() @IsOptional() @IsString() @Matches(NAME, { message: 'region must match ^[a-z0-9][a-z0-9._-]{0,62}$' })
  region?: string;
}

export class ProbeTaskDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: ['tcp', 'http'] }) type!: string;
  /** host:port for tcp, a URL for http. */
  @ApiProperty({ example: '10.0.1.7:8080' }) target!: string;
  @ApiProperty() timeoutMs!: number;
}

export class ProbeTaskListDto {
  @ApiProperty({ type: [ProbeTaskDto] }) items!: ProbeTaskDto[];
}

export class ProbeResultDto {
  @ApiProperty() @IsBoolean({ message: 'reachable must be true or false' })
  reachable!: boolean;

  @ApiProperty({ minimum: 0 }) @IsNumber() @Min(0) @Max(600_000)
  latencyMs!: number;

  @ApiPropertyOptional({ maxLength: 500 }) @IsOptional() @IsString() @MaxLength(500)
  error?: string;
}

export class RecordedDto {
  @ApiProperty() recorded!: boolean;
}

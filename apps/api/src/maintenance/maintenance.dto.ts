import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsISO8601, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

export class CreateMaintenanceDto {
  /** When it starts (default now); up to 90 days back, to record one afterwards. */
  @ApiPropertyOptional({ format: 'date-time', example: '2026-12-01T02:00:00Z' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'from must be an ISO 8601 time, e.g. 2026-12-01T02:00:00Z' })
  from?: string;

  /** When it ends; or give durationMinutes. */
  @ApiPropertyOptional({ format: 'date-time', example: '2026-12-01T03:00:00Z' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'to must be an ISO 8601 time, e.g. 2026-12-01T03:00:00Z' })
  to?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 44_640, example: 60 })
  @IsOptional()
  @IsInt({ message: 'durationMinutes must be a whole number of minutes from 1 to 44640 (31 days)' })
  @Min(1, { message: 'durationMinutes must be a whole number of minutes from 1 to 44640 (31 days)' })
  @Max(44_640, { message: 'durationMinutes must be a whole number of minutes from 1 to 44640 (31 days)' })
  durationMinutes?: number;

  @ApiPropertyOptional({ maxLength: 512, example: 'PostgreSQL 18 upgrade' })
  @IsOptional()
  @IsString()
  @MaxLength(512, { message: 'reason must be at most 512 characters' })
  reason?: string;
}

export class MaintenanceDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() service!: string;
  @ApiProperty({ format: 'date-time' }) from!: string;
  @ApiProperty({ format: 'date-time' }) to!: string;
  @ApiProperty({ nullable: true, type: String }) reason!: string | null;
  /** Under way now. */
  @ApiProperty() active!: boolean;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class MaintenanceListDto {
  /** Windows ending in the last 30 days or later, soonest first. */
  @ApiProperty({ type: [MaintenanceDto] }) items!: MaintenanceDto[];
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsString, Matches } from 'class-validator';

export class ReportQueryDto {
  /** Start of the range (ISO 8601); default the first of the current month (UTC). */
  @ApiPropertyOptional({ format: 'date-time', example: '2026-10-01T00:00:00Z' }) @IsOptional() @IsISO8601({ strict: true }, { message: 'from must be an ISO 8601 date or time, e.g. 2026-10-01 or 2026-10-01T00:00:00Z' })
  from?: string;

  /** End of the range, exclusive (ISO 8601); default now. */
  @ApiPropertyOptional({ format: 'date-time', example: '2026-11-01T00:00:00Z' }) @IsOptional() @IsISO8601({ strict: true }, { message: 'to must be an ISO 8601 date or time, e.g. 2026-11-01 or 2026-11-01T00:00:00Z' })
  to?: string;

  @ApiPropertyOptional({ enum: ['json', 'csv'], default: 'json' }) @IsOptional() @IsIn(['json', 'csv'], { message: 'format must be json or csv' })
  format?: 'json' | 'csv';

  @ApiPropertyOptional({ description: 'Only this service.' }) @IsOptional() @IsString() @Matches(/^[a-z0-9][a-z0-9._-]{0,62}$/, { message: 'service must be a service name' })
  service?: string;
}

export class ReportSloDto {
  @ApiProperty() name!: string;
  @ApiProperty({ enum: ['availability', 'requests'] }) sli!: string;
  @ApiProperty() objective!: number;
  @ApiProperty({ nullable: true, type: Number }) value!: number | null;
  @ApiProperty({ nullable: true, type: Boolean }) met!: boolean | null;
}

export class ReportRowDto {
  @ApiProperty() service!: string;
  @ApiProperty({ nullable: true, type: Number }) availability!: number | null;
  @ApiProperty() downtimeSeconds!: number;
  @ApiProperty() knownSeconds!: number;
  /** Times the service went DOWN in the range. */
  @ApiProperty() outages!: number;
  /** Incidents in the range (each outage counts as one until the incidents engine lands). */
  @ApiProperty() incidents!: number;
  @ApiProperty({ type: [ReportSloDto] }) slos!: ReportSloDto[];
}

export class ReportDto {
  @ApiProperty({ format: 'date-time' }) from!: string;
  @ApiProperty({ format: 'date-time' }) to!: string;
  @ApiProperty({ format: 'date-time' }) generatedAt!: string;
  @ApiProperty({ type: [ReportRowDto] }) services!: ReportRowDto[];
}

import { ApiProperty } from '@nestjs/swagger';

export class StatusDayDto {
  /** The UTC day, YYYY-MM-DD. */
  @ApiProperty({ example: '2026-11-29' }) date!: string;
  /** Share of the day's known time the service was not DOWN; null when nothing is known of that day. */
  @ApiProperty({ nullable: true, type: Number }) availability!: number | null;
}

export class StatusServiceDto {
  @ApiProperty() name!: string;
  @ApiProperty({ nullable: true, type: String }) description!: string | null;
  @ApiProperty({ enum: ['UP', 'DEGRADED', 'DOWN', 'UNKNOWN'] }) state!: string;
  @ApiProperty({ format: 'date-time' }) stateSince!: string;
  /** Availability over the 90 days shown; null when nothing is known. */
  @ApiProperty({ nullable: true, type: Number }) uptime90d!: number | null;
  /** 90 UTC days, oldest first; the last is today, so far. */
  @ApiProperty({ type: [StatusDayDto] }) days!: StatusDayDto[];
}

export class StatusDto {
  /** NINEFOLD_STATUS_TITLE. */
  @ApiProperty({ example: 'Service status' }) title!: string;
  /** When this answer was computed: it is cached for 10 seconds. */
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
  /** The whole system: every known public service DOWN is a major outage, some a partial one; any DEGRADED is degraded. */
  @ApiProperty({ enum: ['operational', 'degraded', 'partial_outage', 'major_outage', 'unknown'] }) state!: string;
  /** The public services (POST /api/v1/services with public: false leaves one out), by name; at most 1,000. */
  @ApiProperty({ type: [StatusServiceDto] }) services!: StatusServiceDto[];
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsNumber, IsObject, IsOptional, IsString, Matches, Max, MaxLength, Min, ValidateIf, ValidateNested } from 'class-validator';

const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

const THRESHOLD = 'sli.thresholdMs must be a number of milliseconds above 0 and at most 3600000 (latency SLIs need one)';

export class SliSpecDto {
  /**
   * availability: seconds not DOWN of the seconds known; requests: requests
   * without error (heartbeats' metrics.requests); latency: requests that took
   * at most thresholdMs, of those measured (metrics.requests.latencyMs buckets).
   */
  @ApiProperty({ enum: ['availability', 'requests', 'latency'] })
  @IsIn(['availability', 'requests', 'latency'], { message: 'sli.type must be availability, requests or latency' })
  type!: 'availability' | 'requests' | 'latency';

  /** Latency SLIs: the most a good request may take. Requests count as good up to the largest bucket bound not above it, so pick a bound agents report. */
  @ApiPropertyOptional({ example: 300, minimum: 0.001, maximum: 3_600_000 })
  @ValidateIf((o: SliSpecDto) => o.type === 'latency' || o.thresholdMs !== undefined)
  @IsNumber({ allowNaN: false, allowInfinity: false }, { message: THRESHOLD })
  @Min(0.001, { message: THRESHOLD })
  @Max(3_600_000, { message: THRESHOLD })
  thresholdMs?: number;
}

export class CreateSloDto {
  @ApiProperty({ example: 'checkout' }) @IsString() @Matches(NAME, { message: 'service must be a service name matching ^[a-z0-9][a-z0-9._-]{0,62}$' })
  service!: string;

  @ApiProperty({ example: 'availability' }) @IsString() @Matches(NAME, { message: 'name must match ^[a-z0-9][a-z0-9._-]{0,62}$' })
  name!: string;

  /** A fraction: 0.999 for 99.9 %. */
  @ApiProperty({ example: 0.999, minimum: 0.5, maximum: 0.999999 })
  @IsNumber({}, { message: 'objective must be a fraction between 0.5 and 0.999999 (99.9 % is 0.999)' })
  @Min(0.5, { message: 'objective must be a fraction between 0.5 and 0.999999 (99.9 % is 0.999)' })
  @Max(0.999999, { message: 'objective must be a fraction between 0.5 and 0.999999 (99.9 % is 0.999)' })
  objective!: number;

  @ApiProperty({ type: SliSpecDto }) @IsObject({ message: 'sli must be an object { type }' }) @ValidateNested() @Type(() => SliSpecDto)
  sli!: SliSpecDto;

  /** rolling: the last windowDays days; calendar_month: the current month (UTC). */
  @ApiPropertyOptional({ enum: ['rolling', 'calendar_month'], default: 'rolling' }) @IsOptional() @IsIn(['rolling', 'calendar_month'], { message: 'window must be rolling or calendar_month' })
  window?: 'rolling' | 'calendar_month';

  @ApiPropertyOptional({ minimum: 1, maximum: 90, default: 30 }) @IsOptional() @IsInt({ message: 'windowDays must be an integer from 1 to 90' }) @Min(1, { message: 'windowDays must be an integer from 1 to 90' }) @Max(90, { message: 'windowDays must be an integer from 1 to 90' })
  windowDays?: number;

  /** Pages are held while the long alert window saw fewer events than this (seconds, for availability). */
  @ApiPropertyOptional({ minimum: 0, default: 0 }) @IsOptional() @IsInt() @Min(0) @Max(1_000_000_000)
  minEvents?: number;

  @ApiPropertyOptional({ maxLength: 1024 }) @IsOptional() @IsString() @MaxLength(1024)
  description?: string;
}

export class SloQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 50 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100)
  limit: number = 50;

  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(200)
  cursor?: string;

  @ApiPropertyOptional({ description: 'Only the SLOs of this service.' }) @IsOptional() @IsString() @Matches(NAME, { message: 'service must be a service name' })
  service?: string;
}

export class SliDto {
  @ApiProperty({ enum: ['availability', 'requests', 'latency'] }) type!: string;
  /** Latency SLIs: the most a good request may take. */
  @ApiPropertyOptional() thresholdMs?: number;
  /** good / total over the window so far; null without data. */
  @ApiProperty({ nullable: true, type: Number }) value!: number | null;
  /** Seconds (availability) or requests (requests; latency: those whose latency was measured). */
  @ApiProperty() good!: number;
  @ApiProperty() total!: number;
}

export class ErrorBudgetDto {
  /** Availability SLIs: the downtime the objective allows over the whole window. */
  @ApiPropertyOptional() allowedSeconds?: number;
  /** Request SLIs: the failed requests the objective allows among those seen. */
  @ApiPropertyOptional() allowedEvents?: number;
  /** Seconds DOWN, or failed requests, so far. */
  @ApiProperty() consumed!: number;
  /** Share of the budget left: 1 untouched, 0 spent, below 0 overspent; null without data. */
  @ApiProperty({ nullable: true, type: Number }) remaining!: number | null;
}

export class SloAlertDto {
  @ApiProperty({ enum: ['page', 'ticket'] }) severity!: string;
  @ApiProperty({ example: '1h' }) longWindow!: string;
  @ApiProperty({ example: '5m' }) shortWindow!: string;
  /** The threshold both windows must reach. */
  @ApiProperty({ example: 14.4 }) burnRate!: number;
  @ApiProperty() firing!: boolean;
  @ApiProperty({ nullable: true, type: Number }) longBurnRate!: number | null;
  @ApiProperty({ nullable: true, type: Number }) shortBurnRate!: number | null;
  /** Why a burning window does not page (too few events: the low-traffic guard). */
  @ApiProperty({ nullable: true, type: String }) suppressed!: string | null;
}

export class SloDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() service!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ nullable: true, type: String }) description!: string | null;
  @ApiProperty() objective!: number;
  @ApiProperty({ enum: ['rolling', 'calendar_month'] }) window!: string;
  @ApiProperty() windowDays!: number;
  @ApiProperty() minEvents!: number;
  @ApiProperty({ type: SliDto }) sli!: SliDto;
  @ApiProperty({ format: 'date-time' }) windowStart!: string;
  @ApiProperty({ format: 'date-time' }) evaluatedAt!: string;
  @ApiProperty({ type: ErrorBudgetDto }) errorBudget!: ErrorBudgetDto;
  @ApiProperty({ type: 'object', properties: { '5m': { type: 'number', nullable: true }, '30m': { type: 'number', nullable: true }, '1h': { type: 'number', nullable: true }, '6h': { type: 'number', nullable: true }, '1d': { type: 'number', nullable: true }, '3d': { type: 'number', nullable: true } } })
  burnRates!: Record<string, number | null>;
  @ApiProperty({ type: [SloAlertDto] }) alerts!: SloAlertDto[];
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class SloPageDto {
  @ApiProperty({ type: [SloDto] }) items!: SloDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

export class BudgetPointDto {
  @ApiProperty({ format: 'date-time' }) at!: string;
  /** Share of the budget left at that moment (1 untouched, below 0 overspent); null while nothing was counted. */
  @ApiProperty({ nullable: true, type: Number }) remaining!: number | null;
}

export class BudgetHistoryDto {
  @ApiProperty({ format: 'uuid' }) slo!: string;
  /** The end of each day of the current window, then now; oldest first. */
  @ApiProperty({ type: [BudgetPointDto] }) points!: BudgetPointDto[];
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { Allow, IsNumber, IsOptional, Max, Min } from 'class-validator';

export class NinesQueryDto {
  /** An availability in percent, e.g. 99.95. */
  @ApiPropertyOptional({ minimum: 0, maximum: 100, example: 99.95 })
  @IsOptional() @Type(() => Number) @IsNumber({}, { message: 'percent must be a number from 0 to 100' }) @Min(0, { message: 'percent must be a number from 0 to 100' }) @Max(100, { message: 'percent must be a number from 0 to 100' })
  percent?: number;

  /** A count of nines, e.g. 3 (99.9 %) or 3.5. */
  @ApiPropertyOptional({ minimum: 0, maximum: 12, example: 3 })
  @IsOptional() @Type(() => Number) @IsNumber({}, { message: 'nines must be a number from 0 to 12' }) @Min(0, { message: 'nines must be a number from 0 to 12' }) @Max(12, { message: 'nines must be a number from 0 to 12' })
  nines?: number;
}

export class DowntimeDto {
  @ApiProperty({ description: 'per year of 365.25 days' }) year!: number;
  @ApiProperty({ description: 'per month, a twelfth of that year (30.44 days)' }) month!: number;
  @ApiProperty({ description: 'per 7 days' }) week!: number;
  @ApiProperty({ description: 'per 24 hours' }) day!: number;
}

export class NinesDto {
  @ApiProperty({ example: 0.9995 }) availability!: number;
  @ApiProperty({ example: 99.95 }) percent!: number;
  /** −log10(1 − availability); null at 100 %. */
  @ApiProperty({ nullable: true, type: Number, example: 3.30103 }) nines!: number | null;
  /** Downtime allowed per period, in seconds. */
  @ApiProperty({ type: DowntimeDto }) allowedDowntimeSeconds!: DowntimeDto;
}

export class ComposeDto {
  /** Groups in sequence (all are needed); the members of a group in parallel (any one will do). Fractions in [0, 1]. */
  @ApiProperty({ type: 'array', items: { type: 'array', items: { type: 'number', minimum: 0, maximum: 1 } }, example: [[0.999], [0.9995, 0.9995]] })
  // Checked by the controller, which names each bad member.
  @Allow()
  groups!: unknown;
}

export class ComposedDto extends NinesDto {}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsBoolean, IsIn, IsInt, IsNumber, IsObject, IsOptional, IsString, Length, Matches, Max, MaxLength, Min } from 'class-validator';

const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const NAME_MESSAGE = (field: string) => `${field} must match ^[a-z0-9][a-z0-9._-]{0,62}$`;

export class ServiceSpecDto {
  @ApiPropertyOptional({ maxLength: 1024 }) @IsOptional() @IsString() @MaxLength(1024)
  description?: string;

  /** Free-form criticality label, e.g. "1" or "critical". */
  @ApiPropertyOptional({ maxLength: 32 }) @IsOptional() @IsString() @MaxLength(32)
  tier?: string;

  /** Groups in sequence; the services inside one group are redundant (in parallel). */
  @ApiPropertyOptional({ type: 'array', items: { type: 'array', items: { type: 'string' } }, example: [['postgres'], ['payments-eu', 'payments-us']] })
  @IsOptional() @IsArray() @ArrayMaxSize(50) @IsArray({ each: true, message: 'dependsOn must be a list of groups, each a list of service names' })
  dependsOn?: string[][];

  @ApiPropertyOptional({ enum: ['node', 'zone', 'region'] }) @IsOptional() @IsIn(['node', 'zone', 'region'], { message: 'survivalGoal must be one of node, zone, region' })
  survivalGoal?: 'node' | 'zone' | 'region';

  /** any: ≥ minHealthy healthy; majority: a strict majority (Raft, Paxos); bft: 2f+1 of n = 3f+1. */
  @ApiPropertyOptional({ enum: ['any', 'majority', 'bft'], default: 'any' }) @IsOptional() @IsIn(['any', 'majority', 'bft'], { message: 'quorum must be one of any, majority, bft' })
  quorum?: 'any' | 'majority' | 'bft';

  @ApiPropertyOptional({ minimum: 1, maximum: 10000, default: 1 }) @IsOptional() @IsInt() @Min(1) @Max(10000)
  minHealthy?: number;

  /** fixed: SUSPECT after ttlSeconds of silence; phi: the phi-accrual detector. */
  @ApiPropertyOptional({ enum: ['fixed', 'phi'], default: 'fixed' }) @IsOptional() @IsIn(['fixed', 'phi'], { message: 'detector must be one of fixed, phi' })
  detector?: 'fixed' | 'phi';

  @ApiPropertyOptional({ minimum: 1, maximum: 16, default: 8 }) @IsOptional() @IsNumber() @Min(1) @Max(16)
  phiThreshold?: number;

  /** Listed on the public status page (`/status`). */
  @ApiPropertyOptional({ default: true }) @IsOptional() @IsBoolean({ message: 'public must be true or false' })
  public?: boolean;
}

export class CreateServiceDto extends ServiceSpecDto {
  @ApiProperty({ pattern: NAME.source, example: 'checkout' }) @IsString() @Matches(NAME, { message: NAME_MESSAGE('name') })
  name!: string;
}

export class RegisterInstanceDto {
  @ApiProperty({ pattern: NAME.source, example: 'checkout-1' }) @IsString() @Matches(NAME, { message: NAME_MESSAGE('id') })
  id!: string;

  @ApiProperty({ example: '10.0.1.7' }) @IsString() @Length(1, 255) @Matches(/^\S+$/, { message: 'address must be a host name or IP address' })
  address!: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 65535 }) @IsOptional() @IsInt() @Min(1) @Max(65535)
  port?: number;

  @ApiPropertyOptional() @IsOptional() @IsString() @Matches(NAME, { message: NAME_MESSAGE('zone') })
  zone?: string;

  @ApiPropertyOptional() @IsOptional() @IsString() @Matches(NAME, { message: NAME_MESSAGE('region') })
  region?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } }) @IsOptional() @IsObject()
  meta?: Record<string, string>;

  /** Silence after which the instance is SUSPECT (default 3 × intervalSeconds). */
  @ApiPropertyOptional({ minimum: 1, maximum: 86400 }) @IsOptional() @IsInt() @Min(1) @Max(86400)
  ttlSeconds?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 3600, default: 10 }) @IsOptional() @IsInt() @Min(1) @Max(3600)
  intervalSeconds?: number;

  /** Further silence after which it is DOWN (default intervalSeconds). */
  @ApiPropertyOptional({ minimum: 0, maximum: 86400 }) @IsOptional() @IsInt() @Min(0) @Max(86400)
  graceSeconds?: number;
}

export class DiscoveryQueryDto {
  @ApiPropertyOptional({ description: 'Every instance with its state, not only the healthy ones.' })
  @IsOptional() @Type(() => String) @IsIn(['true', 'false'], { message: 'all must be true or false' })
  all?: 'true' | 'false';
}

export class ResolveQueryDto {
  @ApiPropertyOptional({ description: 'Prefer an instance in this zone.' }) @IsOptional() @IsString() @Matches(NAME, { message: NAME_MESSAGE('zone') })
  zone?: string;
}

/** Availability per window: the share of the known time not DOWN (null: nothing known in the window). */
const AVAILABILITY_WINDOWS = { type: 'object', properties: { '1h': { type: 'number', nullable: true }, '24h': { type: 'number', nullable: true }, '7d': { type: 'number', nullable: true }, '30d': { type: 'number', nullable: true }, '90d': { type: 'number', nullable: true } } } as const;

export class InstanceDto {
  @ApiProperty() id!: string;
  @ApiProperty() service!: string;
  @ApiProperty({ nullable: true, type: String }) address!: string | null;
  @ApiProperty({ nullable: true, type: Number }) port!: number | null;
  @ApiProperty({ nullable: true, type: String }) zone!: string | null;
  @ApiProperty({ nullable: true, type: String }) region!: string | null;
  /** Labels given at registration. */
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' }, nullable: true }) meta!: Record<string, string> | null;
  @ApiProperty({ enum: ['UP', 'SUSPECT', 'DOWN', 'UNKNOWN'] }) state!: string;
  @ApiProperty({ enum: ['up', 'degraded', 'down'], nullable: true }) status!: string | null;
  @ApiProperty({ format: 'date-time' }) since!: string;
  @ApiProperty({ nullable: true, type: String }) reason!: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) lastSeenAt!: string | null;
  @ApiProperty() ttlSeconds!: number;
  @ApiProperty() graceSeconds!: number;
  /** Changing state more than 5 times in 10 minutes (flap damping). */
  @ApiProperty() flapping!: boolean;
  /** Silent, but reachable from probers: the heartbeat path is broken, not the instance. */
  @ApiProperty() partitioned!: boolean;
}

export class ServiceInstanceDto extends InstanceDto {
  /** The instance's own availability (SUSPECT counts as up; its service's maintenance windows are left out), per window. */
  @ApiProperty(AVAILABILITY_WINDOWS) availability!: Record<'1h' | '24h' | '7d' | '30d' | '90d', number | null>;
}

export class SurvivesDto {
  @ApiProperty() node!: boolean;
  @ApiProperty() zone!: boolean;
  @ApiProperty() region!: boolean;
}

export class LeaderDto {
  @ApiProperty() id!: string;
  @ApiProperty({ nullable: true, type: Number }) term!: number | null;
  @ApiProperty({ format: 'date-time' }) since!: string;
}

export class SloSummaryDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty() objective!: number;
  @ApiProperty({ type: 'object', properties: { type: { type: 'string', enum: ['availability', 'requests', 'latency'] }, thresholdMs: { type: 'number' } } }) sli!: { type: string; thresholdMs?: number };
  @ApiProperty({ enum: ['rolling', 'calendar_month'] }) window!: string;
  @ApiProperty() windowDays!: number;
  /** Share of the error budget left at the last evaluation (every SLO_EVALUATION_SECONDS); null before the first. */
  @ApiProperty({ nullable: true, type: Number }) budgetRemaining!: number | null;
  /** Alert rules firing then, as "<severity>:<longWindow>". */
  @ApiProperty({ type: [String], example: ['page:1h'] }) firing!: string[];
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) evaluatedAt!: string | null;
}

export class ServiceDto {
  @ApiProperty() name!: string;
  @ApiProperty({ nullable: true, type: String }) description!: string | null;
  @ApiProperty({ nullable: true, type: String }) tier!: string | null;
  @ApiProperty({ type: 'array', items: { type: 'array', items: { type: 'string' } } }) dependsOn!: string[][];
  @ApiProperty({ enum: ['node', 'zone', 'region'], nullable: true }) survivalGoal!: string | null;
  @ApiProperty({ nullable: true, type: Boolean }) survivalGoalMet!: boolean | null;
  @ApiProperty({ enum: ['any', 'majority', 'bft'] }) quorum!: string;
  @ApiProperty() minHealthy!: number;
  @ApiProperty({ enum: ['fixed', 'phi'] }) detector!: string;
  @ApiProperty({ enum: ['UP', 'DEGRADED', 'DOWN', 'UNKNOWN'] }) state!: string;
  @ApiProperty({ format: 'date-time' }) stateSince!: string;
  @ApiProperty({ nullable: true, type: String }) stateReason!: string | null;
  /** How many more instances may fail before the service stops working under its quorum rule. */
  @ApiProperty() canLose!: number;
  @ApiProperty({ type: SurvivesDto }) survives!: SurvivesDto;
  /** The current leader, for consensus clusters whose members report role and term. */
  @ApiProperty({ type: LeaderDto, nullable: true }) leader!: LeaderDto | null;
  /** Share of the known time the service was not DOWN (DEGRADED counts as up; time without data is left out), per window. */
  @ApiProperty(AVAILABILITY_WINDOWS)
  availability!: Record<'1h' | '24h' | '7d' | '30d' | '90d', number | null>;
  /** 30-day availability composed with the services it depends on; null while any of them has no data. */
  @ApiProperty({ nullable: true, type: Number }) composite30d!: number | null;
  /** SLOs defined for the service (their figures: GET /api/v1/slos/:id). */
  @ApiProperty({ type: [SloSummaryDto] }) slos!: SloSummaryDto[];
  /** Error budget of the service's tightest SLO at its last evaluation; null while none is evaluated. */
  @ApiProperty({ type: () => BudgetDto, nullable: true }) budget!: BudgetDto | null;
  /** The maintenance window the service is in now (POST /api/v1/services/:name/maintenance); its time is left out of availability. */
  @ApiProperty({ nullable: true, type: 'object', properties: { id: { type: 'string', format: 'uuid' }, from: { type: 'string', format: 'date-time' }, to: { type: 'string', format: 'date-time' }, reason: { type: 'string', nullable: true } } })
  maintenance!: { id: string; from: string; to: string; reason: string | null } | null;
  @ApiProperty() selfRegistered!: boolean;
  /** Listed on the public status page. */
  @ApiProperty() public!: boolean;
  @ApiProperty({ type: [ServiceInstanceDto] }) instances!: ServiceInstanceDto[];
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class ServicePageDto {
  @ApiProperty({ type: [ServiceDto] }) items!: ServiceDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

export class InstanceListDto {
  @ApiProperty({ type: [InstanceDto] }) items!: InstanceDto[];
}


export class OverviewInstancesDto {
  @ApiProperty() total!: number;
  @ApiProperty() up!: number;
  @ApiProperty() suspect!: number;
  @ApiProperty() down!: number;
  @ApiProperty() flapping!: number;
}

export class BudgetDto {
  /** Share of the error budget left of the service's tightest SLO (1 untouched, below 0 overspent), at its last evaluation. */
  @ApiProperty() remaining!: number;
  @ApiProperty() slo!: string;
}

export class OverviewItemDto {
  @ApiProperty() name!: string;
  @ApiProperty({ nullable: true, type: String }) tier!: string | null;
  @ApiProperty() public!: boolean;
  @ApiProperty({ enum: ['UP', 'DEGRADED', 'DOWN', 'UNKNOWN'] }) state!: string;
  @ApiProperty({ format: 'date-time' }) stateSince!: string;
  @ApiProperty({ nullable: true, type: String }) stateReason!: string | null;
  @ApiProperty({ type: OverviewInstancesDto }) instances!: OverviewInstancesDto;
  @ApiProperty(AVAILABILITY_WINDOWS)
  availability!: Record<'1h' | '24h' | '7d' | '30d' | '90d', number | null>;
  @ApiProperty({ nullable: true, type: Number }) composite30d!: number | null;
  @ApiProperty() canLose!: number;
  @ApiProperty({ type: SurvivesDto }) survives!: SurvivesDto;
  @ApiProperty({ enum: ['node', 'zone', 'region'], nullable: true }) survivalGoal!: string | null;
  @ApiProperty({ nullable: true, type: Boolean }) survivalGoalMet!: boolean | null;
  @ApiProperty({ type: LeaderDto, nullable: true }) leader!: LeaderDto | null;
  /** Error budget of the service's SLOs; null while it has none. */
  @ApiProperty({ type: BudgetDto, nullable: true }) budget!: BudgetDto | null;
}

export class OverviewTotalsDto {
  @ApiProperty({ type: 'object', additionalProperties: { type: 'integer' }, example: { UP: 12, DEGRADED: 1, DOWN: 0, UNKNOWN: 2 } }) services!: Record<string, number>;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'integer' }, example: { UP: 40, SUSPECT: 1, DOWN: 2, UNKNOWN: 0 } }) instances!: Record<string, number>;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'integer' }, example: { info: 0, warning: 1, critical: 0 } }) openSignals!: Record<string, number>;
}

export class OverviewDto {
  @ApiProperty({ type: OverviewTotalsDto }) totals!: OverviewTotalsDto;
  @ApiProperty({ type: [OverviewItemDto] }) items!: OverviewItemDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

export class HistoryQueryDto {
  /** Changes per page (1-500). */
  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 50 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500)
  limit: number = 50;

  /** `nextCursor` of the previous page. */
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(200)
  cursor?: string;
}

export class HistoryItemDto {
  @ApiProperty({ format: 'date-time' }) at!: string;
  /** Whether the service itself or one of its instances changed state. */
  @ApiProperty({ enum: ['service', 'instance'] }) kind!: string;
  /** The instance; null for the service's own changes (and for an instance deleted since). */
  @ApiProperty({ nullable: true, type: String }) instance!: string | null;
  @ApiProperty() from!: string;
  @ApiProperty() to!: string;
  @ApiProperty({ nullable: true, type: String }) reason!: string | null;
}

export class HistoryPageDto {
  /** Newest first. */
  @ApiProperty({ type: [HistoryItemDto] }) items!: HistoryItemDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

export class UptimeQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 90, default: 90 })
  @IsOptional() @Type(() => Number) @IsInt({ message: 'days must be an integer from 1 to 90' }) @Min(1, { message: 'days must be an integer from 1 to 90' }) @Max(90, { message: 'days must be an integer from 1 to 90' })
  days: number = 90;
}

export class UptimeDayDto {
  /** The UTC day, YYYY-MM-DD. */
  @ApiProperty({ example: '2026-11-29' }) date!: string;
  /** Share of the day's known time the service was not DOWN; null when nothing is known of that day. */
  @ApiProperty({ nullable: true, type: Number }) availability!: number | null;
  @ApiProperty() downSeconds!: number;
  /** Seconds of the day with a known state (the day so far, for today). */
  @ApiProperty() knownSeconds!: number;
}

export class UptimeDto {
  @ApiProperty() service!: string;
  /** One per UTC day, oldest first; the last is today, so far. */
  @ApiProperty({ type: [UptimeDayDto] }) days!: UptimeDayDto[];
  @ApiProperty({ nullable: true, type: Number }) availability!: number | null;
  @ApiProperty() downSeconds!: number;
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsBoolean, IsInt, IsISO8601, IsOptional, IsString, Length, Matches, Min, ValidateNested } from 'class-validator';

const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export class AgentQueueDto {
  /** Heartbeats waiting to be sent. */
  @ApiProperty() @IsInt() @Min(0) waiting!: number;
  @ApiProperty() @IsInt() @Min(0) sent!: number;
  /** Dropped because the buffer was full while the control plane was away. */
  @ApiProperty() @IsInt() @Min(0) dropped!: number;
  /** Refused by the control plane as invalid. */
  @ApiProperty() @IsInt() @Min(0) rejected!: number;
}

export class AgentGossipDto {
  @ApiProperty() @IsString() @Length(1, 63) group!: string;
  @ApiProperty() @IsInt() @Min(0) alive!: number;
  @ApiProperty() @IsInt() @Min(0) members!: number;
}

export class AgentReportDto {
  @ApiProperty({ example: '0.1.0' }) @IsString() @Length(1, 32) version!: string;
  @ApiProperty({ type: [String] }) @IsString({ each: true }) @Matches(NAME, { each: true, message: 'services must be service names' }) @ArrayMaxSize(200) services!: string[];
  @ApiProperty() @IsBoolean() prober!: boolean;
  @ApiPropertyOptional() @IsOptional() @IsString() @Matches(NAME, { message: 'zone must match ^[a-z0-9][a-z0-9._-]{0,62}$' }) zone?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @Matches(NAME, { message: 'region must match ^[a-z0-9][a-z0-9._-]{0,62}$' }) region?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @Length(1, 255) address?: string;
  @ApiProperty({ type: AgentQueueDto }) @ValidateNested() @Type(() => AgentQueueDto) queue!: AgentQueueDto;
  @ApiProperty({ format: 'date-time' }) @IsISO8601() startedAt!: string;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) @IsOptional() @IsISO8601() lastSuccessAt!: string | null;
  @ApiPropertyOptional({ type: AgentGossipDto }) @IsOptional() @ValidateNested() @Type(() => AgentGossipDto) gossip?: AgentGossipDto;
}

export class AgentDto extends AgentReportDto {
  @ApiProperty() instance!: string;
  /** The later of its last report and its last heartbeat. */
  @ApiProperty({ format: 'date-time' }) lastSeenAt!: string;
  /** When it last reported itself (agents report every minute). */
  @ApiProperty({ format: 'date-time' }) lastReportAt!: string;
  /** The last heartbeat of its services' instances (heartbeats come every interval). */
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) lastHeartbeatAt!: string | null;
  /** Heard from (a report or a heartbeat) within the last 3 minutes. */
  @ApiProperty() connected!: boolean;
}

export class AgentListDto {
  @ApiProperty({ type: [AgentDto] }) items!: AgentDto[];
}

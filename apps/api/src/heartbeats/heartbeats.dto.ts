import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

// These classes document the heartbeat body in the OpenAPI document. The body
// itself is checked by parseHeartbeats (libs/registry), a single-pass
// validator built for batches of 1,000 items.

export class DependencyCountsDto {
  @ApiProperty({ minimum: 0, description: 'Calls made since the last heartbeat.' }) calls!: number;
  @ApiProperty({ minimum: 0 }) failures!: number;
  @ApiProperty({ minimum: 0 }) slowCalls!: number;
  @ApiPropertyOptional({ minimum: 0 }) latencyMsP50?: number;
  @ApiPropertyOptional({ minimum: 0 }) latencyMsP99?: number;
}

export class RequestCountsDto {
  @ApiProperty({ minimum: 0 }) total!: number;
  @ApiProperty({ minimum: 0 }) errors!: number;
  @ApiPropertyOptional({ minimum: 0 }) slow?: number;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'integer', minimum: 0 },
    maxProperties: 65,
    example: { '100': 700, '300': 940, '1000': 990, '+Inf': 1000 },
    description:
      'Extension, for latency SLOs: cumulative latency buckets as Prometheus le buckets. Each key is an upper bound in ms (above 0, at most 3600000, up to 3 decimals) and its value the requests that took at most that long; "+Inf" (default total) the requests measured. Counts must not fall as bounds grow, nor exceed total; at most 64 bounds.',
  })
  latencyMs?: Record<string, number>;
}

export class HeartbeatMetricsDto {
  @ApiPropertyOptional({ type: 'object', additionalProperties: { $ref: '#/components/schemas/DependencyCountsDto' }, description: 'Per dependency, counted since the last heartbeat.' })
  dependencies?: Record<string, DependencyCountsDto>;
  @ApiPropertyOptional({ type: RequestCountsDto }) requests?: RequestCountsDto;
  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'integer', minimum: 0 }, description: 'Requests rejected per rate-limit policy.' })
  rateLimited?: Record<string, number>;
}

export class PeerViewDto {
  @ApiPropertyOptional({ type: [String], maxItems: 1000, description: 'Agents (instance names) the group sees alive.' }) alive?: string[];
  @ApiPropertyOptional({ type: [String], maxItems: 1000 }) suspect?: string[];
  @ApiPropertyOptional({ type: [String], maxItems: 1000 }) dead?: string[];
}

export class HeartbeatDto {
  @ApiProperty({ pattern: '^[a-z0-9][a-z0-9._-]{0,62}$', example: 'checkout' }) service!: string;
  @ApiProperty({ pattern: '^[a-z0-9][a-z0-9._-]{0,62}$', example: 'checkout-1' }) instance!: string;
  @ApiPropertyOptional({ enum: ['up', 'degraded', 'down'], default: 'up' }) status?: string;
  @ApiPropertyOptional({ format: 'date-time', description: "The agent's send time." }) at?: string;
  @ApiPropertyOptional({ minimum: 1, maximum: 3600, default: 10 }) intervalSeconds?: number;
  @ApiPropertyOptional({ example: '10.0.1.7' }) address?: string;
  @ApiPropertyOptional({ minimum: 1, maximum: 65535, description: 'Extension: the port probers connect to when confirming that a silent instance is down.' }) port?: number;
  @ApiPropertyOptional({ example: 'eu-west-1a' }) zone?: string;
  @ApiPropertyOptional({ example: 'eu-west-1' }) region?: string;
  @ApiPropertyOptional({ enum: ['leader', 'follower', 'primary', 'replica'] }) role?: string;
  @ApiPropertyOptional({ minimum: 0 }) term?: number;
  @ApiPropertyOptional({ type: HeartbeatMetricsDto }) metrics?: HeartbeatMetricsDto;
  @ApiPropertyOptional({ description: 'The peer agent that relayed this heartbeat by gossip.' }) via?: string;
  @ApiPropertyOptional({
    minLength: 1,
    maxLength: 300,
    example: 'http://127.0.0.1:8080/healthz: ECONNREFUSED',
    description: 'Extension: why the instance reports this status, e.g. its failing check and the error. A self-reported DOWN shows it as the instance\'s reason.',
  })
  reason?: string;
  @ApiPropertyOptional({
    type: PeerViewDto,
    description:
      'Extension: the sending agent\'s gossip view of its group. When an instance falls silent and no prober confirms it, a majority of its peers still seeing it alive keeps it SUSPECT ("heartbeat path broken") instead of DOWN.',
  })
  peers?: PeerViewDto;
}

export class HeartbeatBatchDto {
  @ApiProperty({ type: [HeartbeatDto], minItems: 1, maxItems: 1000 }) heartbeats!: HeartbeatDto[];
}

export class AcceptedDto {
  @ApiProperty({ description: 'Heartbeats accepted (durable).' }) accepted!: number;
}

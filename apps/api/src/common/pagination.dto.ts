import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

/** `?limit=&cursor=` of every list endpoint. */
export class PageQueryDto {
  /** Items per page (1-500). */
  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 50 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500)
  limit: number = 50;

  /** `nextCursor` of the previous page. */
  @ApiPropertyOptional()
  @IsOptional() @IsString() @MaxLength(200)
  cursor?: string;
}

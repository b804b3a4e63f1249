/**
 * What scripts/test.mjs hands every e2e test: a PostgreSQL server (admin URL
 * and the name of a template database with every migration applied) and a
 * Redis server. Each test file makes its own database from the template and
 * its own Redis key prefix, so files run in parallel without sharing state.
 */
export interface TestEnv {
  pgAdminUrl: string;
  templateDb: string;
  redisUrl: string;
}

export function testEnv(): TestEnv {
  const pgAdminUrl = process.env.NINEFOLD_TEST_PG_ADMIN_URL;
  const templateDb = process.env.NINEFOLD_TEST_TEMPLATE_DB;
  const redisUrl = process.env.NINEFOLD_TEST_REDIS_URL;
  if (!pgAdminUrl || !templateDb || !redisUrl) {
    throw new Error('e2e tests run under `npm test` (scripts/test.mjs), which starts PostgreSQL and Redis and sets NINEFOLD_TEST_*');
  }
  return { pgAdminUrl, templateDb, redisUrl };
}

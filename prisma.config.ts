import { defineConfig } from 'prisma/config';

// Prisma 7 reads the datasource URL from here. `?? ''` keeps `prisma generate`
// working without a database; migrations are applied by scripts/db (see README).
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? '' },
});

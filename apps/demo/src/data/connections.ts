/** Where the demo's data lives; `npm start` and the e2e suites set these, the defaults fit this project's machines. */
export const connections = {
  /** PostgreSQL: the orders (TypeORM) and the reports (Prisma). `npm start` runs an embedded PostgreSQL. */
  postgres: (): string => process.env.DEMO_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  /** Redis: the order cache. */
  redis: (): string => process.env.DEMO_REDIS_URL ?? 'redis://127.0.0.1:6379',
  /** The prefix of the cache's keys (the e2e suites give each process its own). */
  cachePrefix: (): string => process.env.DEMO_CACHE_PREFIX ?? 'xrayjs-demo:',
  /** MySQL or MariaDB: the legacy order archive, read through mysql2. */
  mysql: (): string => process.env.DEMO_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test',
};

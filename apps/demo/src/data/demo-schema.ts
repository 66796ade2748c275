import type { DataSource } from 'typeorm';

/** The demo's orders: the fixtures every environment starts from. */
export const ORDER_FIXTURES = [
  { id: '1', item: 'keyboard', quantity: 2, customer: 'ada' },
  { id: '2', item: 'mouse', quantity: 1, customer: 'grace' },
  { id: '3', item: 'monitor', quantity: 4, customer: 'linus' },
] as const;

/**
 * Creates the orders table and its fixtures with SQL, under an advisory lock: several processes (the
 * e2e suites run in parallel) may start on one database at once. TypeORM's `synchronize` would race.
 */
export async function ensureDemoSchema(dataSource: DataSource): Promise<number> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock(471147)');
    await runner.query('CREATE TABLE IF NOT EXISTS orders (id varchar PRIMARY KEY, item varchar NOT NULL, quantity int NOT NULL, customer varchar NOT NULL)');
    for (const o of ORDER_FIXTURES) {
      await runner.query('INSERT INTO orders (id, item, quantity, customer) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING', [o.id, o.item, o.quantity, o.customer]);
    }
    return ORDER_FIXTURES.length;
  } finally {
    await runner.query('SELECT pg_advisory_unlock(471147)').catch(() => undefined);
    await runner.release();
  }
}

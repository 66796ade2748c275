import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy, ServiceUnavailableException } from '@nestjs/common';
import { Subsegment } from '@xrayjs/nestjs';
import mysql, { type Pool, type RowDataPacket } from 'mysql2/promise';

import { connections } from './connections.js';

export interface ArchivedOrder {
  id: number;
  item: string;
  quantity: number;
}

/**
 * The archive of old orders, in MySQL/MariaDB through mysql2 (promise API, a pool). Its statements are
 * traced as `<database>@<host>` subsegments from mysql2's diagnostics channels. Without a reachable
 * server the route answers 503 and the start-up log says why, once.
 */
@Injectable()
export class LegacyOrdersService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(LegacyOrdersService.name);
  private pool: Pool | undefined;
  private missing: string | undefined;

  async onApplicationBootstrap(): Promise<void> {
    const pool = mysql.createPool({ uri: connections.mysql(), connectionLimit: 4, connectTimeout: 2000 });
    try {
      await pool.query('CREATE TABLE IF NOT EXISTS xrayjs_demo_archive (id int PRIMARY KEY, item varchar(100) NOT NULL, quantity int NOT NULL)');
      await pool.query('INSERT IGNORE INTO xrayjs_demo_archive (id, item, quantity) VALUES (101, ?, 3), (102, ?, 1), (103, ?, 7)', ['typewriter', 'inkwell', 'floppy disk']);
      this.pool = pool;
    } catch (e) {
      this.missing = (e as { code?: string }).code ?? (e as Error).message;
      this.logger.warn(`The /archive route is off: MySQL/MariaDB at ${connections.mysql().replace(/\/\/[^@]*@/, '//')} is not reachable (${this.missing}). Set DEMO_MYSQL_URL to use it.`);
      await pool.end().catch(() => undefined);
    }
  }

  get available(): boolean {
    return this.pool !== undefined;
  }

  @Subsegment()
  async larger(than: number): Promise<ArchivedOrder[]> {
    if (this.pool === undefined) throw new ServiceUnavailableException(`the archive database is not reachable (${this.missing ?? 'not started'})`);
    const [rows] = await this.pool.execute<RowDataPacket[]>('SELECT id, item, quantity FROM xrayjs_demo_archive WHERE quantity > ? ORDER BY id', [than]);
    return rows as ArchivedOrder[];
  }

  async onModuleDestroy(): Promise<void> {
    await this.pool?.end();
  }
}

import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { databaseConfig } from '../config/config-namespaces.js';
import type { PrismaClient } from '../generated/prisma/client.js';
import { DatabaseUnavailableError, translatePrismaError } from './database.errors.js';
import { openDatabase, type DatabaseKind, type OpenDatabase } from './open-database.js';
import type { RawSql } from './raw-sql.js';
import type { ReleaseSessionLock } from './session-lock.js';

/**
 * Owns the Prisma client for the configured database (PGlite folder, or Postgres when a URL is
 * set). Opening applies pending migrations. Repositories read `client`; nothing else should.
 */
@Injectable()
export class PrismaService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(PrismaService.name);
  private db?: OpenDatabase;

  constructor(@Inject(databaseConfig.KEY) private readonly cfg: ConfigType<typeof databaseConfig>) {}

  /** The connected client; available from `onModuleInit` (global modules initialize first). */
  get client(): PrismaClient {
    if (!this.db) throw new Error('PrismaService is not open (onModuleInit has not run, or it was closed)');
    return this.db.client;
  }

  /** Bare SQL on the same database: for the audit log's write-ahead and sealing only. */
  get sql(): RawSql {
    if (!this.db) throw new Error('PrismaService is not open (onModuleInit has not run, or it was closed)');
    return this.db.sql;
  }

  get kind(): DatabaseKind {
    return this.cfg.kind;
  }

  /** See `OpenDatabase.holdSessionLock`. */
  holdSessionLock(key: [number, number], onLost?: (err: Error) => void): Promise<ReleaseSessionLock> {
    if (!this.db) throw new Error('PrismaService is not open (onModuleInit has not run, or it was closed)');
    return this.db.holdSessionLock(key, onLost);
  }

  async onModuleInit(): Promise<void> {
    if (this.db) return;
    const started = performance.now();
    this.db = await openDatabase({
      kind: this.cfg.kind,
      url: this.cfg.url?.reveal(),
      pgliteDir: this.cfg.pgliteDir,
      migrationsDir: this.cfg.migrationsDir,
      onConnectionError: (err) => this.logger.warn(`database connection error: ${err.message}`),
    });
    const where = this.cfg.kind === 'pglite' ? `pglite (${this.cfg.pgliteDir})` : 'postgres';
    const applied = this.db.applied.length ? `applied ${this.db.applied.join(', ')}` : 'schema up to date';
    this.logger.log(`database ready: ${where}, ${applied}, ${Math.round(performance.now() - started)} ms`);
  }

  async onModuleDestroy(): Promise<void> {
    const db = this.db;
    this.db = undefined;
    await db?.close();
  }

  /**
   * `SELECT 1` for readiness checks. Throws `DatabaseUnavailableError` when the database does not
   * answer within `timeoutMs` (code `timeout`) or cannot be reached.
   */
  async ping(timeoutMs: number): Promise<void> {
    const client = this.client;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DatabaseUnavailableError('timeout')), timeoutMs);
    });
    try {
      await Promise.race([client.$queryRaw`SELECT 1`, timeout]);
    } catch (err) {
      throw translatePrismaError(err, 'ping');
    } finally {
      clearTimeout(timer);
    }
  }
}

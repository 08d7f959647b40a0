import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/** The `migrations/` folder at the top of the project (from `src/` and from `dist/src/`). */
export const MIGRATIONS_DIR = fileURLToPath(
  new URL(import.meta.url.includes('/dist/') ? '../../../migrations' : '../../migrations', import.meta.url),
);

/** A migration file failed; nothing of it was applied. */
export class MigrationFailed extends Error {
  override readonly name = 'MigrationFailed';
  constructor(readonly file: string, cause: unknown) {
    super(`migration ${file} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** The database has not applied every migration of this release: nobody has migrated it yet. */
export class NotMigrated extends Error {
  override readonly name = 'NotMigrated';
  constructor(pending: readonly string[], applied: number) {
    const what = applied === 0 ? 'no migration applied yet' : `${pending.join(', ')} not applied yet`;
    super(`${what}: the database is not migrated; run \`npm run chat -- migrate\` (npm start does too)`);
  }
}

const FILE_NAME = /^(\d{4})_[a-z0-9_]+\.sql$/;

/** The numbered SQL files of `dir`, in the order they apply. */
async function migrationFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => FILE_NAME.test(name)).sort();
}

/**
 * Refuses a database that has not applied every migration of `dir`, before a command of this
 * release does any work on it and fails halfway (at a column not there yet).
 * @throws {NotMigrated} naming the files not applied.
 */
export async function assertMigrated(url: string, dir = MIGRATIONS_DIR): Promise<void> {
  const files = await migrationFiles(dir);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows: [table] } = await client.query<{ exists: boolean }>(`SELECT to_regclass('schema_migrations') IS NOT NULL AS exists`);
    const { rows } = table?.exists ? await client.query<{ file: string }>('SELECT file FROM schema_migrations') : { rows: [] };
    const done = new Set(rows.map((row) => row.file));
    const pending = files.filter((name) => !done.has(name));
    if (pending.length > 0) throw new NotMigrated(pending, done.size);
  } finally {
    await client.end();
  }
}

/**
 * Applies, in order, each numbered SQL file of `dir` not yet recorded in `schema_migrations`,
 * each in its own transaction with its record. An advisory lock keeps two processes starting at
 * once from applying the same file twice. Runs through `pg` directly: a migration file holds
 * many statements, which only the simple query protocol accepts.
 * @returns the names of the files applied now.
 * @throws {MigrationFailed} naming the file that failed; the files before it stay applied.
 */
export async function migrate(url: string, dir = MIGRATIONS_DIR): Promise<string[]> {
  const files = await migrationFiles(dir);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`SELECT pg_advisory_lock(hashtext('parley.migrations'))`);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      file text PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await client.query<{ file: string }>('SELECT file FROM schema_migrations')).rows.map((r) => r.file));
    const applied: string[] = [];
    for (const file of files.filter((name) => !done.has(name))) {
      const text = await readFile(join(dir, file), 'utf8');
      try {
        await client.query('BEGIN');
        await client.query(text);
        await client.query('INSERT INTO schema_migrations (file) VALUES ($1)', [file]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new MigrationFailed(file, error);
      }
      applied.push(file);
    }
    return applied;
  } finally {
    await client.end();
  }
}

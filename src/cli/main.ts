#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.js';
import { startEmbeddedPostgres } from '../database/embedded-postgres.js';
import { MigrationFailed, migrate } from '../database/migrations.js';
import { DatabaseUnreachable, explainUnreachable } from '../database/unreachable.js';

const USAGE = `usage: npm run chat -- <command>

commands:
  migrate    apply the SQL files of migrations/ not applied yet

The database is DATABASE_URL's, or the embedded one under DATA_DIR (the running server's when
one runs, else started for the command and stopped after).`;

/** A mistake in the command line; the message says what is wrong. */
class UsageError extends Error {}

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
  if (values.help || positionals.length === 0) {
    console.log(USAGE);
    return;
  }
  const [command, ...rest] = positionals;
  switch (command) {
    case 'migrate':
      if (rest.length > 0) throw new UsageError(`migrate takes no arguments, got: ${rest.join(' ')}`);
      return withDatabase(async (url) => {
        const applied = await migrate(url);
        console.log(applied.length === 0 ? 'migrations: up to date' : `migrations applied: ${applied.join(', ')}`);
      });
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/** Runs `work` against the configured database, starting the embedded one if nobody runs it. */
async function withDatabase(work: (url: string) => Promise<void>): Promise<void> {
  const config = loadConfig();
  const explained = (url: string) => work(url).catch((error: unknown) => {
    throw explainUnreachable(error, url, config.databaseUrl === undefined);
  });
  if (config.databaseUrl) return explained(config.databaseUrl);
  const embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPostgresPort });
  try {
    await explained(embedded.url);
  } finally {
    await embedded.stop();
  }
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    process.exitCode = 64;
  } else if (error instanceof ConfigError || error instanceof MigrationFailed || error instanceof DatabaseUnreachable) {
    console.error(error.message);
    process.exitCode = 1;
  } else {
    throw error;
  }
}

import { ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { Server, Socket } from 'node:net';
import type { EmbeddedPostgres } from '../src/database/embedded-postgres.js';

export default async function globalTeardown(globalConfig: { openHandlesTimeout: number }): Promise<void> {
  const server = (globalThis as { parleyTestPostgres?: EmbeddedPostgres }).parleyTestPostgres;
  // The run is over: a connection still open is a test's leftover, not a reason to keep it up.
  await server?.stop({ force: true });
  const dataDir = process.env.PARLEY_TEST_DATA_DIR;
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  nameWhatKeepsJestAlive(globalConfig.openHandlesTimeout);
}

/**
 * On a machine of two cores jest runs the test files one after the other in its own process, so
 * a timer, socket or child process that a test left behind keeps that process alive, and jest
 * warns, `openHandlesTimeout` after the run (see jest.config.js), that it "did not exit". The
 * warning names nothing; this does, just before it. The check is itself no reason to stay alive:
 * when the process exits in time, it never runs.
 */
function nameWhatKeepsJestAlive(openHandlesTimeoutMs: number): void {
  if (openHandlesTimeoutMs <= 0) return;
  const afterMs = Math.max(0, openHandlesTimeoutMs - 100);
  setTimeout(() => {
    const stdio = new Set<unknown>([process.stdin, process.stdout, process.stderr]);
    const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles()
      .filter((handle) => !stdio.has(handle))
      .map(describeHandle);
    const timers = process.getActiveResourcesInfo().filter((type) => type === 'Timeout').length;
    process.stderr.write(
      `global teardown: jest's process is still alive ${afterMs / 1000} s after the run, held by ` +
        `${timers} timer(s)${handles.length === 0 ? '' : ` and ${handles.join('; ')}`}\n`,
    );
  }, afterMs).unref();
}

function describeHandle(handle: unknown): string {
  if (handle instanceof ChildProcess) return `child process ${handle.pid} (${handle.spawnargs.join(' ')})`;
  if (handle instanceof Socket) return `socket ${handle.localAddress}:${handle.localPort} to ${handle.remoteAddress}:${handle.remotePort}`;
  if (handle instanceof Server) return `server listening on ${JSON.stringify(handle.address())}`;
  return (handle as object).constructor.name;
}

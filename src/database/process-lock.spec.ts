import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../test/processes.js';
import { acquireProcessLock, LockHeld } from './process-lock.js';

// A lock held by another process, and one whose holder died, are tested with real processes in
// test/server.e2e.spec.ts ("processes sharing the embedded PostgreSQL"); here this process holds it.
describe('a lock between processes', () => {
  let dir: string;
  let path: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-lock-'));
    path = join(dir, 'lock');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('keeps the next taker waiting, told who holds it, until the holder releases it', async () => {
    const release = await acquireProcessLock(path, { waitMs: 10_000 });
    const told: number[] = [];
    let taken = false;
    const next = acquireProcessLock(path, { waitMs: 10_000, onWait: (holder) => told.push(holder) }).then((releaseNext) => {
      taken = true;
      return releaseNext;
    });
    await waitFor('the next taker told who holds the lock', () => told.length > 0);
    expect(taken).toBe(false);
    expect(told).toEqual([process.pid]);

    await release();
    await (await next)();
    expect(told).toEqual([process.pid]);
    expect(await readdir(dir)).toEqual([]);
  });

  it('gives up after waitMs, naming the live holder', async () => {
    const release = await acquireProcessLock(path, { waitMs: 10_000 });
    try {
      const refusal = await acquireProcessLock(path, { waitMs: 200 }).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(LockHeld);
      expect(refusal).toMatchObject({ holder: process.pid, path });
    } finally {
      await release();
    }
  });
});

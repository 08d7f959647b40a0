import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { processIdentity } from './process-lock.js';

/**
 * The processes about to start or attach to the embedded PostgreSQL of a data folder, waiting for
 * their turn (`postgres.lock`). Each counts as using the server from its arrival, so that the last
 * process to leave does not stop it for one to start it again: a file of `postgres.arriving/`
 * names it (its id and start time, as {@link processIdentity} does) until it has attached.
 */
const FOLDER = 'postgres.arriving';

/** Counts this process as arriving at the server of `dataDir` until the returned function is called. */
export async function announceArrival(dataDir: string): Promise<() => Promise<void>> {
  const path = join(dataDir, FOLDER, fileName((await processIdentity(process.pid))!));
  await mkdir(join(dataDir, FOLDER), { recursive: true });
  await writeFile(path, '');
  return () => rm(path, { force: true });
}

/**
 * How many other processes are arriving at the server of `dataDir`. The files of those that died
 * on the way are removed: a name is never another process's.
 */
export async function othersArriving(dataDir: string): Promise<number> {
  const folder = join(dataDir, FOLDER);
  let others = 0;
  for (const name of await readdir(folder).catch(() => [])) {
    const identity = name.replace('-', ' ');
    const pid = Number(identity.split(' ')[0]);
    if (pid === process.pid) continue;
    if ((await processIdentity(pid)) === identity) others++;
    else await rm(join(folder, name), { force: true });
  }
  return others;
}

function fileName(identity: string): string {
  return identity.replace(' ', '-');
}

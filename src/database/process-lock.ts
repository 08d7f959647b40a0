import { readFile, readlink, rename, symlink, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** Another live process has held a lock for longer than the caller would wait. */
export class LockHeld extends Error {
  override readonly name = 'LockHeld';
  constructor(readonly path: string, readonly holder: number, waitedMs: number) {
    super(`${path} is held by process ${holder}, still after ${Math.round(waitedMs / 1000)} s of waiting: let it finish, or end it`);
  }
}

/**
 * Takes the lock that `path` stands for, between the processes of this machine, waiting while
 * another live process holds it. The lock is a symbolic link whose target names its holder (as
 * {@link processIdentity} does), so that it comes into being whole, or not at all when another
 * process made it first. One whose holder has died (a crash, a SIGKILL) is taken over, by one
 * process (see {@link takeFromTheDead}).
 * @param onWait told once, with the holder's process id, when the lock is found held.
 * @returns the function that releases it.
 * @throws {LockHeld} when a live process holds it for longer than `waitMs`.
 */
export async function acquireProcessLock(
  path: string,
  { waitMs, onWait = () => {} }: { waitMs: number; onWait?: (holder: number) => void },
): Promise<() => Promise<void>> {
  const me = (await processIdentity(process.pid))!;
  const started = Date.now();
  let told = false;
  for (;;) {
    if (await take(path, me)) return () => release(path, me);
    const holder = await readlink(path).catch(ignore('ENOENT'));
    if (holder === undefined) continue; // released meanwhile
    if (Date.now() - started > waitMs) throw new LockHeld(path, pidOf(holder), Date.now() - started);
    if (!told) onWait(pidOf(holder));
    told = true;
    await sleep(20 + Math.random() * 30);
  }
}

/** Makes `path` name `me`, unless a live process holds it or is taking it over: true once it does. */
async function take(path: string, me: string): Promise<boolean> {
  for (;;) {
    if (await symlink(me, path).then(() => true, ignore('EEXIST'))) return true;
    const holder = await readlink(path).catch(ignore('ENOENT'));
    if (holder === undefined) continue; // released meanwhile
    if ((await processIdentity(pidOf(holder))) === holder) return false;
    return takeFromTheDead(path, holder, me);
  }
}

/**
 * Makes `path`, the lock of `dead`, name `me` instead, unless another process does so first. A lock
 * is never removed but by its live holder, nor replaced but while it names a dead one: the
 * process that takes a lock beside it, named after `dead` (and taken over as any other when its
 * holder died too), is the one that may replace it, renaming its own over it at once: the lock is
 * never missing meanwhile, for a third process to take.
 */
async function takeFromTheDead(path: string, dead: string, me: string): Promise<boolean> {
  const successor = `${path}.${dead.replace(' ', '-')}`;
  if (!(await take(successor, me))) return false;
  // Taken over already, and the successor's lock renamed away since: this one is of no use.
  if ((await readlink(path).catch(ignore('ENOENT'))) !== dead) {
    await release(successor, me);
    return false;
  }
  await rename(successor, path);
  return true;
}

async function release(path: string, me: string): Promise<void> {
  if ((await readlink(path).catch(ignore('ENOENT'))) === me) await unlink(path);
}

function pidOf(identity: string): number {
  return Number(identity.split(' ')[0]);
}

/** A rejection handler that makes an error with the given `code` an undefined result. */
function ignore(code: string): (error: unknown) => undefined {
  return (error) => {
    if ((error as { code?: string }).code !== code) throw error;
    return undefined;
  };
}

/**
 * A live process as a lock or a record of ownership names it: its id and its start time, which a
 * process that reuses the id after it died does not share. Undefined for a dead (or zombie) process.
 */
export async function processIdentity(pid: number): Promise<string | undefined> {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // proc(5): after "pid (comm) " come the state (field 3) and, at field 22, the start time.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (stat === '' || fields[0] === 'Z') return undefined;
  return `${pid} ${fields[19]}`;
}

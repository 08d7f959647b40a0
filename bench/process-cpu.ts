import { readdir, readFile } from 'node:fs/promises';

/** Linux's clock ticks a second in `/proc/<pid>/stat` (USER_HZ, 100 on every common architecture). */
export const TICKS_PER_SECOND = 100;

/**
 * The CPU time (user and system, in seconds) a process and all its descendants have used so
 * far: the live ones as `/proc` shows them, the ended ones as their parents collected them
 * (`cutime`, `cstime`). Linux only; `NaN` elsewhere, or once the process is gone.
 */
export async function processTreeCpuSeconds(pid: number): Promise<number> {
  const processes = await readProcesses();
  const children = new Map<number, number[]>();
  for (const [id, { parent }] of processes) children.set(parent, [...(children.get(parent) ?? []), id]);
  let ticks = 0;
  const pending = [pid];
  for (let id = pending.pop(); id !== undefined; id = pending.pop()) {
    const process = processes.get(id);
    if (process === undefined) continue;
    ticks += process.ticks;
    pending.push(...(children.get(id) ?? []));
  }
  return processes.has(pid) ? ticks / TICKS_PER_SECOND : Number.NaN;
}

/** Linux's `kthreadd`, the parent of every other kernel thread. */
const KTHREADD = 2;

/** A kernel thread as `/proc` shows it: its name and the CPU time (clock ticks) it has used so far. */
export interface KernelThread {
  readonly name: string;
  readonly ticks: number;
}

/**
 * The kernel's own threads, by process id. Empty where `/proc` shows none (not Linux, or a PID
 * namespace of its own).
 */
export async function kernelThreads(): Promise<Map<number, KernelThread>> {
  const threads = new Map<number, KernelThread>();
  for (const [id, { parent, name, ticks }] of await readProcesses()) {
    if (id === KTHREADD || parent === KTHREADD) threads.set(id, { name, ticks });
  }
  return threads;
}

/**
 * The CPU time (clock ticks) kernel threads used between two readings of {@link kernelThreads}, by
 * name, numbered ones together (`kworker/1:2H` as `kworker`). Threads come and go (kworkers do):
 * one that ended meanwhile is left out, one that started counts from 0.
 */
export function kernelThreadTicksBetween(before: ReadonlyMap<number, KernelThread>, after: ReadonlyMap<number, KernelThread>): Map<string, number> {
  const byName = new Map<string, number>();
  for (const [id, { name, ticks }] of after) {
    const kind = name.split('/')[0]!;
    byName.set(kind, (byName.get(kind) ?? 0) + ticks - (before.get(id)?.ticks ?? 0));
  }
  return byName;
}

async function readProcesses(): Promise<Map<number, { parent: number; name: string; ticks: number }>> {
  const processes = new Map<number, { parent: number; name: string; ticks: number }>();
  const ids = (await readdir('/proc').catch(() => [])).filter((name) => /^\d+$/.test(name));
  await Promise.all(ids.map(async (id) => {
    const stat = await readFile(`/proc/${id}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined) return; // ended meanwhile
    const fields = fieldsAfterName(stat);
    const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number) as [number, number, number, number];
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    processes.set(Number(id), { parent: Number(fields[1]), name, ticks: utime + stime + cutime + cstime });
  }));
  return processes;
}

/**
 * The fields of a `/proc/<pid>/stat` line after the command name, which may hold spaces and
 * parentheses: state, ppid, … (proc(5)'s field 3 onwards).
 */
function fieldsAfterName(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Linux's scheduling policies by number (`sched_setscheduler(2)`). */
const POLICIES = new Map([[0, 'SCHED_OTHER'], [1, 'SCHED_FIFO'], [2, 'SCHED_RR'], [3, 'SCHED_BATCH'], [5, 'SCHED_IDLE'], [6, 'SCHED_DEADLINE']]);

/**
 * This process's scheduling policy, with its real-time priority where it has one, for a
 * benchmark's output: the server and PostgreSQL that a benchmark starts inherit it, so
 * `chrt -r 1 npm run bench -- …` runs them all at SCHED_RR (README, "Benchmarks").
 */
export async function ownScheduling(): Promise<string> {
  const stat = await readFile('/proc/self/stat', 'utf8').catch(() => undefined);
  if (stat === undefined) return 'not known (no /proc)';
  // proc(5): rt_priority is field 40, policy 41; the fields after the name start at field 3.
  const fields = fieldsAfterName(stat);
  const [priority, policy] = [Number(fields[37]), Number(fields[38])];
  const name = POLICIES.get(policy) ?? `policy ${policy}`;
  const policyText = priority > 0 ? `${name}, real-time priority ${priority}` : name;
  return `${policyText}, this load generator's, which the server and PostgreSQL it started inherit`;
}

/** The machine's CPU time so far, all cores together, in clock ticks (`/proc/stat`). */
export interface MachineTicks {
  /** Running something: user, nice, system, interrupts. */
  readonly busy: number;
  /** Idle, or idle waiting for I/O. */
  readonly idle: number;
  /** Stolen: the hypervisor ran other guests while this one had work to run. */
  readonly stolen: number;
}

/** The machine's CPU ticks so far (see {@link MachineTicks}); `undefined` where there is no `/proc/stat`. */
export async function machineTicks(): Promise<MachineTicks | undefined> {
  const stat = await readFile('/proc/stat', 'utf8').catch(() => undefined);
  const line = stat?.split('\n', 1)[0];
  if (line === undefined || !line.startsWith('cpu ')) return undefined;
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest time is in user)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.slice(4).trim().split(/\s+/).map(Number);
  return { busy: user + nice + system + irq + softirq, idle: idle + iowait, stolen: steal };
}

/**
 * The share of the machine's time, in percent, that the hypervisor stole between two readings of
 * {@link machineTicks}: `NaN` where either is missing, or where the kernel counts no stolen time
 * at all (some of these machines' kernels do not: the counter stays at 0 from boot).
 */
export function stolenPercentBetween(before: MachineTicks | undefined, after: MachineTicks | undefined): number {
  if (before === undefined || after === undefined || after.stolen === 0) return Number.NaN;
  const stolen = after.stolen - before.stolen;
  return (100 * stolen) / (after.busy - before.busy + after.idle - before.idle + stolen);
}

/**
 * The CPU time, in seconds, DAMON's kernel threads (`kdamond.N`) used between two readings of
 * {@link kernelThreads}: `NaN` where there is none.
 */
export function damonSecondsBetween(before: ReadonlyMap<number, KernelThread>, after: ReadonlyMap<number, KernelThread>): number {
  const damon = [...kernelThreadTicksBetween(before, after)].filter(([name]) => name.startsWith('kdamond'));
  return damon.length === 0 ? Number.NaN : damon.reduce((sum, [, ticks]) => sum + ticks, 0) / TICKS_PER_SECOND;
}

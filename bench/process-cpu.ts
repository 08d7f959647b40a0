import { readdir, readFile } from 'node:fs/promises';

/** Linux's clock ticks a second in `/proc/<pid>/stat` (USER_HZ, 100 on every common architecture). */
const TICKS_PER_SECOND = 100;

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

async function readProcesses(): Promise<Map<number, { parent: number; ticks: number }>> {
  const processes = new Map<number, { parent: number; ticks: number }>();
  const ids = (await readdir('/proc').catch(() => [])).filter((name) => /^\d+$/.test(name));
  await Promise.all(ids.map(async (id) => {
    const stat = await readFile(`/proc/${id}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined) return; // ended meanwhile
    // Fields after the command name (which may hold spaces and parentheses): state, ppid, …
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number) as [number, number, number, number];
    processes.set(Number(id), { parent: Number(fields[1]), ticks: utime + stime + cutime + cstime });
  }));
  return processes;
}

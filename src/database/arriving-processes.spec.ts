import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type NodeProcess, ROOT, startNode } from '../../test/processes.js';
import { announceArrival, othersArriving } from './arriving-processes.js';

describe('the processes arriving at an embedded PostgreSQL', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'parley-arriving-'));
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  /** Another process, running `code` (an ES module, `announceArrival` in scope) and living until it is killed. */
  function nodeArriving(code: string): NodeProcess {
    const module = pathToFileURL(join(ROOT, 'dist', 'src', 'database', 'arriving-processes.js')).href;
    return startNode('--input-type=module', ['-e', `
      setInterval(() => {}, 60_000);
      const { announceArrival } = await import(${JSON.stringify(module)});
      ${code}`], {}, ROOT);
  }

  it('counts another process from its arrival until it has attached, never this one', async () => {
    const leave = await announceArrival(dataDir);
    expect(await othersArriving(dataDir)).toBe(0);

    // It arrives, says so, and on SIGUSR2 has attached; it lives until it is killed.
    const other = nodeArriving(`
      const attached = await announceArrival(${JSON.stringify(dataDir)});
      console.log('arriving');
      await new Promise((resolve) => process.once('SIGUSR2', resolve));
      await attached();
      console.log('attached');`);
    try {
      await other.waitForOutput('arriving');
      expect(await othersArriving(dataDir)).toBe(1);
      other.child.kill('SIGUSR2');
      await other.waitForOutput('attached');
      expect(await othersArriving(dataDir)).toBe(0);
    } finally {
      other.child.kill('SIGKILL');
      await other.exited;
    }
    await leave();
    expect(await readdir(join(dataDir, 'postgres.arriving'))).toEqual([]);
  });

  it('forgets a process that died on its way', async () => {
    const other = nodeArriving(`
      await announceArrival(${JSON.stringify(dataDir)});
      console.log('arriving');`);
    await other.waitForOutput('arriving');
    other.child.kill('SIGKILL');
    await other.exited;

    expect(await othersArriving(dataDir)).toBe(0);
    expect(await readdir(join(dataDir, 'postgres.arriving'))).toEqual([]);
  });
});

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { damonSecondsBetween, kernelThreads, machineTicks, ownScheduling, stolenPercentBetween } from './process-cpu.js';
import { type BenchServer, startBenchServer } from './server-process.js';
import { Conversation } from './soak-conversation.js';
import type { SoakContext } from './soak-participant.js';
import { Recorder, type Report, REPORT_HEADER, reportLine } from './soak-stats.js';
import { judge, pastSessionMemoriesFill, pastSessionMemoriesFull } from './soak-verdict.js';
import { fmt, sleep, waitUntil } from './stats.js';
import { runAsLoadGenerator, StompPeer } from './stomp-peer.js';

/**
 * A long run of mixed chat traffic against a real server (its own process, on a fresh embedded
 * database, as `npm run bench -- stomp`), to see whether memory and latency stay flat.
 *
 * `--pairs` conversations (see `soak-conversation.ts`) share an open-loop schedule of `--rate`
 * messages a second; around the messages go the rest of a chat's life: sessions opened, joined,
 * read receipts, typing indicators, sessions closed and rated by customers who then leave and
 * are replaced, and connections that drop and resume with `since-revision`. One more agent
 * watches `/topic/inbox`. Every `--seconds-per-report` a line gives the interval's throughput,
 * p99 latencies (from each message's scheduled time: to its RECEIPT, and to its MESSAGE at the
 * other participant), the server's RSS, heap, event-loop delay, projection lag and CPU. At the
 * end: whether memory and p99 stayed flat after the warm-up (`soak-verdict.ts`). The warm-up
 * lasts `--warmup-seconds`, or else until the server's memories of past sessions are full, and at
 * least 2 minutes (a third of a shorter run).
 */
export async function soakBenchmark(args: string[]): Promise<void> {
  runAsLoadGenerator();
  const { values } = parseArgs({
    args,
    options: {
      rate: { type: 'string', default: '500' },
      minutes: { type: 'string', default: '30' },
      pairs: { type: 'string', default: '100' },
      'seconds-per-report': { type: 'string', default: '60' },
      'warmup-seconds': { type: 'string' },
    },
  });
  const rate = positive('rate', values.rate);
  const pairs = positive('pairs', values.pairs);
  const every = positive('seconds-per-report', values['seconds-per-report']);
  // The run lasts a whole number of reports; the warm-up too (at least one).
  const reportCount = Math.max(1, Math.round((positive('minutes', values.minutes) * 60) / every));
  const seconds = reportCount * every;
  const reportsIn = (warmupSeconds: number) => Math.min(reportCount, Math.max(1, Math.floor(warmupSeconds / every)));
  const warmup: Warmup =
    values['warmup-seconds'] === undefined
      ? { leastReports: reportsIn(Math.min(120, seconds / 3)), untilMemoriesFull: true }
      : { leastReports: reportsIn(positive('warmup-seconds', values['warmup-seconds'])), untilMemoriesFull: false };

  const server = await startBenchServer();
  const recorder = new Recorder();
  const context: SoakContext = { server, recorder, fail: failureCounter(recorder) };
  const conversations = Array.from({ length: pairs }, (_, i) => new Conversation(i, context));
  const running = conversations.map((conversation) => conversation.run());
  let supervisor: StompPeer | undefined;
  try {
    supervisor = await StompPeer.connect(server.stompUrl, await server.token('soak-supervisor', 'agent', 'Supervisor'));
    let inboxMessages = 0;
    await supervisor.subscribe('/topic/inbox', () => inboxMessages++);
    const least = `${fmt(warmup.leastReports * every)} s`;
    const warmupText = warmup.untilMemoriesFull ? `until the server's memories of past sessions are full, at least ${least}` : least;
    console.log(`soak: ${pairs} conversations, ${rate} messages/s for ${fmt(seconds)} s, a report every ${every} s, warm-up ${warmupText}`);
    console.log(`scheduling: ${await ownScheduling()}`);
    console.log(REPORT_HEADER);
    const { reports, warmupReports, liveHeapAfterWarmup } = await drive({ server, recorder, conversations, rate, reportCount, every, warmup });
    await waitUntil(() => recorder.inFlight === 0, 10_000);
    const liveHeapAtEnd = await liveHeap(server);
    console.log(`/topic/inbox: ${fmt(inboxMessages)} MESSAGEs to the one agent watching it`);
    judge({ reports, warmupReports, rate, lostAtEnd: recorder.next().lost + recorder.inFlight, liveHeapAfterWarmup, liveHeapAtEnd });
  } finally {
    await Promise.all([supervisor?.close(), ...conversations.map((conversation) => conversation.stop())]);
    await Promise.all(running);
    await server.stop();
  }
}

/** The reports not judged (see `judge`). */
interface Warmup {
  readonly leastReports: number;
  /** Beyond `leastReports`, until the report at which the server's memories of past sessions are full. */
  readonly untilMemoriesFull: boolean;
}

interface DriveOptions {
  readonly server: BenchServer;
  readonly recorder: Recorder;
  readonly conversations: readonly Conversation[];
  readonly rate: number;
  readonly reportCount: number;
  readonly every: number;
  readonly warmup: Warmup;
}

interface Driven {
  readonly reports: Report[];
  /** Undefined when the run ended before its warm-up did. */
  readonly warmupReports: number | undefined;
  /** The server's live heap (`liveHeap`) at the end of the warm-up. */
  readonly liveHeapAfterWarmup: number;
}

/**
 * Waits until every conversation can take messages, then hands out `rate` messages a second
 * (`schedule`) and prints a report every `every` seconds, until `reportCount` reports.
 */
async function drive(options: DriveOptions): Promise<Driven> {
  const { conversations } = options;
  await waitUntil(() => conversations.every((conversation) => conversation.chatting), 60_000);
  const reporter = await startReporter(options);
  try {
    await schedule(options, reporter.report);
    return await reporter.finished();
  } finally {
    reporter.stop();
  }
}

/**
 * Hands out the messages round-robin, each at its scheduled time (one that no conversation could
 * take is handed out late, and its lateness counts), and calls `report` at each report's time,
 * without waiting for it: the schedule never waits for the server's `/metrics`.
 */
async function schedule(options: DriveOptions, report: (at: number) => void): Promise<void> {
  const { server, conversations, rate, reportCount, every } = options;
  const start = performance.now();
  const total = Math.floor(rate * reportCount * every);
  const dueAt = (index: number) => start + (index * 1000) / rate;
  let next = 0;
  let cursor = 0;
  const handOut = (scheduledAt: number): boolean => {
    for (let tried = 0; tried < conversations.length; tried++) {
      const conversation = conversations[cursor]!;
      cursor = (cursor + 1) % conversations.length;
      if (conversation.trySend(scheduledAt)) return true;
    }
    return false;
  };
  for (let reportsDone = 0; reportsDone < reportCount; await sleep(1)) {
    if (!server.alive) throw new Error('the server process exited during the soak');
    const now = performance.now();
    while (next < total && dueAt(next) <= now && handOut(dueAt(next))) next++;
    if (now - start >= (reportsDone + 1) * every * 1000) report(++reportsDone * every);
  }
}

/**
 * Reports, each on what happened since the previous one: the traffic (`Recorder`), one scrape of
 * the server's `/metrics` (its event-loop figures cover the interval: the scrape resets them),
 * the largest projection lag of samples taken every 2 s, this process's own event-loop delay,
 * and what the machine took from the run: the hypervisor's stolen time and DAMON's kernel thread
 * (README, "Benchmarks"). At the report that ends the warm-up, the server's live heap.
 */
async function startReporter(options: DriveOptions) {
  const { server, recorder, every, warmup } = options;
  const reports: Report[] = [];
  let warmupReports: number | undefined;
  let liveHeapAfterWarmup = Number.NaN;
  const printing: Array<Promise<void>> = [];
  const benchLoop = monitorEventLoopDelay({ resolution: 10 });
  benchLoop.enable();
  let previous = await server.metrics();
  let previousMachine = await machineTicks();
  let previousKernel = await kernelThreads();
  let lagMax = 0;
  const lagSampler = setInterval(() => void server.projectionLag().then((lag) => (lagMax = Math.max(lagMax, lag)), () => {}), 2000);
  const take = async (at: number) => {
    const traffic = recorder.next();
    const benchLoopP99Ms = benchLoop.percentile(99) / 1e6;
    benchLoop.reset();
    const projectionLagMax = lagMax;
    lagMax = 0;
    const metrics = await server.metrics();
    const serverCpuPercent = ((metrics.cpuSeconds - previous.cpuSeconds) / every) * 100;
    previous = metrics;
    const [machine, kernel] = [await machineTicks(), await kernelThreads()];
    const stolenPercent = stolenPercentBetween(previousMachine, machine);
    const damonSeconds = damonSecondsBetween(previousKernel, kernel);
    [previousMachine, previousKernel] = [machine, kernel];
    const report: Report = { at, seconds: every, traffic, server: metrics, serverCpuPercent, projectionLagMax, benchLoopP99Ms, stolenPercent, damonSeconds };
    reports.push(report);
    console.log(reportLine(report));
    if (warmupReports === undefined && reports.length >= warmup.leastReports && (!warmup.untilMemoriesFull || pastSessionMemoriesFull(metrics))) {
      warmupReports = reports.length;
      if (warmup.untilMemoriesFull) console.log(`  warm-up over, the server's memories of past sessions full: ${pastSessionMemoriesFill(metrics)}`);
      liveHeapAfterWarmup = await liveHeap(server);
    }
  };
  return {
    report: (at: number) => void printing.push(take(at)),
    finished: async (): Promise<Driven> => {
      await Promise.all(printing);
      return { reports, warmupReports, liveHeapAfterWarmup };
    },
    stop: () => {
      clearInterval(lagSampler);
      benchLoop.disable();
    },
  };
}

/**
 * The server's live heap: the least of three readings of its used heap, 2 s apart, each just
 * after a full garbage collection (what is alive, whatever garbage the moment holds). In the
 * runs tried the first reading was the highest, by 0.5 – 2 MiB. (Each collection pauses the
 * server once, for some tens of milliseconds.)
 */
async function liveHeap(server: BenchServer): Promise<number> {
  const readings: number[] = [];
  for (let i = 0; i < 3; i++) {
    if (i > 0) await sleep(2000);
    await server.collectGarbage();
    readings.push((await server.metrics()).heapUsedBytes);
  }
  return Math.min(...readings);
}

/** Counts a failure in the interval in progress, and prints each distinct message the first time. */
function failureCounter(recorder: Recorder): (error: unknown) => void {
  const seen = new Set<string>();
  return (error) => {
    recorder.interval.failures++;
    const text = error instanceof Error ? error.message : String(error);
    if (!seen.has(text)) console.error(`  failure (first of its kind): ${text}`);
    seen.add(text);
  };
}

function positive(name: string, value: string | undefined): number {
  const number = Number(value);
  if (!(number > 0)) throw new Error(`--${name} must be a positive number, got ${value}`);
  return number;
}

import { randomUUID } from 'node:crypto';
import { constants, monitorEventLoopDelay, type NodeGCPerformanceDetail, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { type WalFlushes } from './embedded.js';
import { measureIdleMemory } from './idle-memory.js';
import { kernelThreads, kernelThreadTicksBetween, machineTicks, type MachineTicks, ownScheduling, stolenPercentBetween, TICKS_PER_SECOND } from './process-cpu.js';
import { type BenchServer, startBenchServer } from './server-process.js';
import { fmt, ms, percent, quantile, sleep, summary } from './stats.js';
import { collectGarbage, runAsLoadGenerator, StompPeer } from './stomp-peer.js';

/**
 * The STOMP gateway of a real server (`dist/src/main.js`, its own process, on a fresh embedded
 * database), driven by `@stomp/stompjs` clients over WebSockets from this process.
 *
 * First, on the fresh server, the memory that `--idle` idle connections hold (see
 * `idle-memory.ts`); they are closed before the load. Then `--pairs` customer/agent pairs,
 * each customer sending messages on an open-loop schedule at a total of `--rate` a second for
 * `--seconds`. Latencies are taken from each message's scheduled time (a late send counts
 * against the server, no coordinated omission): to its RECEIPT at the customer, and to its
 * MESSAGE at the agent (append, projection, NOTIFY, fan-out). Before that window, once the
 * projection has caught up with the pairs' setup, `--warmup` seconds of the same load, whose
 * figures are printed apart: the first seconds of load on a fresh server, right after the
 * setup, are slower than the ones after, and a server in service is past them.
 *
 * With `--flooders N`, N more customers each send `--flood-rate` messages a second to a session
 * of their own for as long, far over the per-connection SEND limit: compare the pairs' latencies
 * with and without them to see how much a flood costs everyone else.
 *
 * `--rate` may list rates in ascending order (`1000,1500,2000`): each is measured in turn on the
 * same server and pairs, until one has a MESSAGE p99 of {@link SATURATION_P99_MS} or more or
 * leaves a message unanswered, and the last line gives the saturation rate between the rates
 * tried: the highest rate under that p99, every message receipted and delivered.
 */
export async function stompBenchmark(args: string[]): Promise<void> {
  runAsLoadGenerator();
  const { values } = parseArgs({
    args,
    options: {
      pairs: { type: 'string', default: '50' },
      rate: { type: 'string', default: '200' },
      seconds: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '5' },
      idle: { type: 'string', default: '1000' },
      flooders: { type: 'string', default: '0' },
      'flood-rate': { type: 'string', default: '1000' },
    },
  });
  const [pairs, seconds, warmup, idle, flooders, floodRate] = [values.pairs, values.seconds, values.warmup, values.idle, values.flooders, values['flood-rate']]
    .map(Number) as [number, number, number, number, number, number];
  const rates = parseRates(values.rate);
  const server = await startBenchServer();
  const peers: StompPeer[] = [];
  try {
    if (idle > 0) await measureIdleMemory(server, idle);
    const each = rates.length > 1 ? ' each, in turn' : '';
    console.log(`load: ${pairs} customer/agent pairs, ${rates.map(fmt).join(', ')} messages/s for ${seconds} s${each}`);
    console.log(`scheduling: ${await ownScheduling()}`);
    const rejections = new Map<string, number>();
    const answers: Answers = {};
    const chats = await Promise.all(Array.from({ length: pairs }, (_, i) => startChat(server, i, peers, rejections, answers)));
    await projectionCaughtUp(server);
    if (warmup > 0) {
      const warm = await runOpenLoop(chats, answers, rates[0]!, warmup);
      console.log(`  warm-up:   ${warmup} s of the same load first, not counted below: MESSAGE ${summary(warm.deliveryLatencies)}, ${warm.lost} without RECEIPT or MESSAGE`);
    }
    const floods = await Promise.all(Array.from({ length: flooders }, (_, i) => startFlood(server, i, peers)));
    if (flooders > 0) console.log(`  flood:     ${flooders} more customers, each sending ${fmt(floodRate)} messages/s to a session of its own`);
    const measured: RateOutcome[] = [];
    for (const rate of rates) {
      if (rates.length > 1) console.log(`rate: ${fmt(rate)} messages/s`);
      rejections.clear();
      await projectionCaughtUp(server);
      const outcome = await measureLoad(server, chats, answers, rate, seconds, floods.map((flood) => flood.run(floodRate, seconds)), rejections);
      measured.push(outcome);
      if (!keptUp(outcome)) break;
    }
    if (rates.length > 1) console.log(`saturation: ${saturationVerdict(measured, rates)}`);
  } finally {
    await Promise.all(peers.map((peer) => peer.close()));
    await server.stop();
  }
}

/** The MESSAGE p99 at which a rate is past saturation (the issue's definition). */
const SATURATION_P99_MS = 100;

/** A measured rate: its MESSAGE p99 and the messages left without a RECEIPT or a MESSAGE. */
interface RateOutcome {
  readonly rate: number;
  readonly p99Ms: number;
  readonly lost: number;
}

/** `--rate`: one rate, or several in ascending order, comma-separated. */
function parseRates(value: string): number[] {
  const rates = value.split(',').map(Number);
  const ascending = rates.every((rate, i) => Number.isFinite(rate) && rate > 0 && (i === 0 || rate > rates[i - 1]!));
  if (!ascending) throw new Error(`--rate takes a rate or rates in ascending order, comma-separated (such as 1000,1500,2000), not "${value}"`);
  return rates;
}

/** Whether the server kept up with a rate: MESSAGE p99 under {@link SATURATION_P99_MS}, every message answered. */
function keptUp({ p99Ms, lost }: RateOutcome): boolean {
  return p99Ms < SATURATION_P99_MS && lost === 0;
}

/** Between which of the rates tried the saturation rate lies, from their outcomes in order. */
function saturationVerdict(measured: readonly RateOutcome[], rates: readonly number[]): string {
  const described = ({ rate, p99Ms, lost }: RateOutcome) => `${fmt(rate)}/s had MESSAGE p99 ${ms(p99Ms)}${lost > 0 ? ` and ${fmt(lost)} messages without RECEIPT or MESSAGE` : ''}`;
  const last = measured.at(-1)!;
  const kept = measured.filter(keptUp).at(-1);
  if (keptUp(last)) return `above ${fmt(last.rate)} messages/s, the highest rate tried (${described(last)})`;
  const notRun = rates.length > measured.length ? ` (the rates above ${fmt(last.rate)}/s not run)` : '';
  if (kept === undefined) return `below ${fmt(last.rate)} messages/s, the lowest rate tried (${described(last)})${notRun}`;
  return `between ${fmt(kept.rate)} and ${fmt(last.rate)} messages/s: ${described(kept)}, ${described(last)}${notRun}`;
}

/**
 * The measured load at `rate` for `seconds`, with the floods running beside it, and its report;
 * `rejections` counts the pairs' rejections meanwhile.
 */
async function measureLoad(
  server: BenchServer,
  chats: Chat[],
  answers: Answers,
  rate: number,
  seconds: number,
  flooding: Promise<FloodOutcome>[],
  rejections: ReadonlyMap<string, number>,
): Promise<RateOutcome> {
  collectGarbage();
  const window = await measureWindow(server);
  const result = await runOpenLoop(chats, answers, rate, seconds);
  const costs = await window.end();
  for (const outcome of await Promise.all(flooding)) {
    console.log(`  flooder:   ${fmt(outcome.sent)} sent, ${fmt(outcome.receipted)} RECEIPTed, ${fmt(outcome.rateLimited)} RATE_LIMITED, ${fmt(outcome.otherwise)} otherwise refused`);
  }
  const refused = [...rejections].map(([code, count]) => `${code}×${count}`).join(' ') || 'none';
  console.log(`  sent:      ${fmt(result.sent)} messages, achieved ${fmt(result.achievedRate)} messages/s (RECEIPTed), ${result.lost} without RECEIPT or MESSAGE, rejections: ${refused}`);
  console.log(`  RECEIPT:   ${summary(result.receiptLatencies)}`);
  console.log(`  MESSAGE:   ${summary(result.deliveryLatencies)} (at the agent)`);
  console.log(`  after RECEIPT: ${summary(result.deliveryAfterReceipt)}, each message's MESSAGE after its RECEIPT (the read side's share)`);
  console.log(`  tail:      ${tailWindows(result, seconds)}`);
  console.log(`  late sends: ${summary(result.sendLateness).replace(/ \(.*/, '')} after their scheduled time (this load generator's own delay, counted in the figures above)`);
  console.log(`  by time:   ${byQuarter(result, seconds)}`);
  const perMessage = (seconds: number) => `${((1000 * seconds) / result.sent).toFixed(3)} ms`;
  console.log(`  CPU:       server ${perMessage(costs.cpu.server)}, PostgreSQL ${perMessage(costs.cpu.database)}, this load generator ${perMessage(costs.cpu.loadGenerator)} per message (user + system, while the messages were sent and answered)`);
  const { server: loop, loadGenerator } = costs.eventLoopDelay;
  console.log(`  loop delay: server p99 ${ms(loop.p99Ms)}, max ${ms(loop.maxMs)}; this load generator p99 ${ms(loadGenerator.p99Ms)}, max ${ms(loadGenerator.maxMs)} (event loops, meanwhile)`);
  const collections = (gc: Collections) => `${gc.full} full collections (pauses ${ms(gc.fullPauseMs)} in all), ${fmt(gc.scavenges)} scavenges (${ms(gc.scavengePauseMs)})`;
  console.log(`  GC:        server ${collections(costs.gc.server)}; this load generator ${collections(costs.gc.loadGenerator)}, meanwhile`);
  console.log(`  WAL:       ${walFlushes(costs.walFlushes)}`);
  console.log(`  machine:   ${machineShares(costs.machine)}`);
  console.log(`  kernel:    ${kernelThreadShares(costs.kernelThreads)}`);
  return { rate, p99Ms: quantile(result.deliveryLatencies, 0.99), lost: result.lost };
}

/**
 * The p99s of each quarter of the measured load, by when the messages were due: the tail of a run
 * is not spread evenly over it (bench/NOTES.md, 2026-12-05, late night). With each, the share of
 * the machine's time the hypervisor stole meanwhile, which sets some of those quarters.
 */
function byQuarter({ deliveryLatencies, deliveryDueAt, receiptLatencies, receiptDueAt, sendLateness, quarterTicks }: LoopResult, seconds: number): string {
  const quarterMs = (seconds * 1000) / 4;
  const quarters = (values: readonly number[], dueAt: (i: number) => number) => {
    const parts: number[][] = [[], [], [], []];
    values.forEach((value, i) => parts[Math.min(3, Math.floor(dueAt(i) / quarterMs))]!.push(value));
    return parts.map((part) => quantile(part, 0.99));
  };
  const message = quarters(deliveryLatencies, (i) => deliveryDueAt[i]!);
  const receipt = quarters(receiptLatencies, (i) => receiptDueAt[i]!);
  const late = quarters(sendLateness, (i) => (i * quarterMs * 4) / sendLateness.length);
  const span = (q: number) => `${fmtSeconds(q * quarterMs)}–${fmtSeconds((q + 1) * quarterMs)} s`;
  const stolen = (q: number) => percent(stolenPercentBetween(quarterTicks[q], quarterTicks[q + 1]));
  const parts = [0, 1, 2, 3].map((q) => `${span(q)} ${message[q]!.toFixed(1)} | ${receipt[q]!.toFixed(1)} | ${late[q]!.toFixed(1)} | ${stolen(q)}`);
  return `p99 of MESSAGE | RECEIPT | late sends (ms) | the machine's time stolen by the hypervisor, by quarter of the run: ${parts.join('; ')}`;
}

function fmtSeconds(milliseconds: number): string {
  return Number.isInteger(milliseconds / 1000) ? String(milliseconds / 1000) : (milliseconds / 1000).toFixed(1);
}

/** The windows of the run that {@link tailWindows} counts in. */
const TAIL_WINDOW_MS = 250;

/**
 * When the messages slower than the p99 were due: all along the run (the server is short of
 * throughput), or in a few windows (stalls, when everything waits: a full garbage collection of
 * the server, the machine busy elsewhere). Those windows, worst first.
 */
function tailWindows({ deliveryLatencies, deliveryDueAt }: LoopResult, seconds: number): string {
  const p99 = quantile(deliveryLatencies, 0.99);
  const windows = new Map<number, number>();
  deliveryLatencies.forEach((latency, i) => {
    if (latency <= p99) return;
    const window = Math.floor(deliveryDueAt[i]! / TAIL_WINDOW_MS);
    windows.set(window, (windows.get(window) ?? 0) + 1);
  });
  if (windows.size === 0) return 'none over the p99';
  const slowest = [...windows].sort(([, a], [, b]) => b - a);
  const worst = slowest.slice(0, 5).map(([window, count]) => `${((window * TAIL_WINDOW_MS) / 1000).toFixed(2)} s (${count})`);
  const over = slowest.reduce((sum, [, count]) => sum + count, 0);
  return `the ${fmt(over)} MESSAGEs over the p99 were due in ${windows.size} of the run's ${Math.ceil((seconds * 1000) / TAIL_WINDOW_MS)} windows of ${TAIL_WINDOW_MS} ms; most in those from ${worst.join(', ')}`;
}

/**
 * How the machine's cores spent the measured time. The same build's figures differ several times
 * over from one hour to another on these machines; this says how busy the cores were, and how
 * much of them the hypervisor took for other guests, where the kernel counts that. Some of these
 * machines' kernels do not (the counter stays at 0 from boot): there the time the host takes is
 * counted as busy or idle like the rest.
 */
function machineShares(ticks: MeasuredTicks | undefined): string {
  if (ticks === undefined) return 'not known (no /proc/stat)';
  const total = ticks.busy + ticks.idle + ticks.stolen;
  const share = (part: number) => `${((100 * part) / total).toFixed(1)} %`;
  const stolen = ticks.stealReported
    ? `stolen by the hypervisor ${share(ticks.stolen)} of the time`
    : 'stolen by the hypervisor: not reported (this guest has counted none since boot)';
  return `the cores were busy ${share(ticks.busy)}, idle ${share(ticks.idle)}, ${stolen}, meanwhile (/proc/stat)`;
}

/**
 * The CPU time the kernel's own threads took over the measured time, the busiest first. On these
 * machines that is mostly `kdamond.0`: DAMON watching the memory for the VM's proactive reclaim,
 * whose work grows within minutes of its start and with the memory in use, and with it the
 * figures above (README, "Benchmarks").
 */
function kernelThreadShares(ticks: ReadonlyMap<string, number>): string {
  if (ticks.size === 0) return 'not known (/proc shows no kernel threads)';
  const seconds = (count: number) => `${(count / TICKS_PER_SECOND).toFixed(2)} s`;
  const total = [...ticks.values()].reduce((sum, count) => sum + count, 0);
  const busiest = [...ticks].filter(([, count]) => count > 0).sort(([, a], [, b]) => b - a).slice(0, 3);
  const most = busiest.length === 0 ? '' : `, most of it ${busiest.map(([name, count]) => `${name} ${seconds(count)}`).join(', ')}`;
  return `the kernel's own threads used ${seconds(total)} of CPU${most}, meanwhile (/proc)`;
}

/** The machine's ticks over the measured time, and whether its kernel counts stolen time at all. */
interface MeasuredTicks extends MachineTicks {
  readonly stealReported: boolean;
}

/**
 * The WAL flushes the server's commits waited for (the appends', before their RECEIPTs), and the
 * time they took. On these machines a flush is three requests to the virtual disk in a row, some
 * 0.4 ms of the device's time, with a wait for a core between them (bench/NOTES.md).
 */
function walFlushes({ count, ms: total }: WalFlushes): string {
  if (count === 0) return 'no flushes counted (pg_stat_io)';
  return `${fmt(count)} flushes by the server's commits, ${ms(total / count)} each on average, ${(total / 1000).toFixed(1)} s in all, meanwhile (pg_stat_io)`;
}

/** Waits (up to a minute) until the projection has applied every event of the log. */
async function projectionCaughtUp(server: BenchServer): Promise<void> {
  const deadline = performance.now() + 60_000;
  while ((await server.projectionLag()) !== 0) {
    if (performance.now() > deadline) throw new Error('the projection did not catch up with the log within a minute');
    await sleep(50);
  }
}

/** Garbage collections of one process: their count and the pauses of its main thread, by kind. */
interface Collections {
  readonly full: number;
  readonly fullPauseMs: number;
  readonly scavenges: number;
  readonly scavengePauseMs: number;
}

/** This process's garbage collections from now to `end()`. */
function observeOwnCollections() {
  const collections = { full: 0, fullPauseMs: 0, scavenges: 0, scavengePauseMs: 0 };
  const count = (entries: readonly PerformanceEntry[]) => {
    for (const entry of entries) {
      const { kind } = (entry as PerformanceEntry & { detail: NodeGCPerformanceDetail }).detail;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        collections.full++;
        collections.fullPauseMs += entry.duration;
      } else if (kind === constants.NODE_PERFORMANCE_GC_MINOR) {
        collections.scavenges++;
        collections.scavengePauseMs += entry.duration;
      }
    }
  };
  const observer = new PerformanceObserver((list) => count(list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  return {
    end(): Collections {
      count(observer.takeRecords());
      observer.disconnect();
      return collections;
    },
  };
}

/**
 * What the load costs, from now to `end()`: the CPU seconds of the server, its database and this
 * process, the event-loop delays of the server and of this process (a delayed loop sends late
 * and reads late: when this process's is high, it is the bottleneck), the garbage collections of
 * both (the `tail:` windows mostly fall on full ones), the WAL flushes the commits waited for,
 * how the machine's cores spent the time, stolen by the hypervisor included, and the CPU of the
 * kernel's own threads.
 */
async function measureWindow(server: BenchServer) {
  const read = async () => {
    const { user, system } = process.cpuUsage();
    const metrics = await server.metrics(); // the scrape also resets the server's event-loop histogram
    const cpu = { server: metrics.cpuSeconds, database: await server.databaseCpuSeconds(), loadGenerator: (user + system) / 1e6 };
    return { metrics, cpu, walFlushes: await server.databaseWalFlushes(), machine: await machineTicks(), kernelThreads: await kernelThreads() };
  };
  const ownLoop = monitorEventLoopDelay({ resolution: 10 });
  ownLoop.enable();
  const ownCollections = observeOwnCollections();
  const before = await read();
  return {
    async end() {
      ownLoop.disable();
      const after = await read();
      return {
        cpu: {
          server: after.cpu.server - before.cpu.server,
          database: after.cpu.database - before.cpu.database,
          loadGenerator: after.cpu.loadGenerator - before.cpu.loadGenerator,
        },
        eventLoopDelay: {
          server: { p99Ms: after.metrics.eventLoopP99Ms, maxMs: after.metrics.eventLoopMaxMs },
          loadGenerator: { p99Ms: ownLoop.percentile(99) / 1e6, maxMs: ownLoop.max / 1e6 },
        },
        walFlushes: { count: after.walFlushes.count - before.walFlushes.count, ms: after.walFlushes.ms - before.walFlushes.ms },
        machine: before.machine && after.machine && {
          busy: after.machine.busy - before.machine.busy,
          idle: after.machine.idle - before.machine.idle,
          stolen: after.machine.stolen - before.machine.stolen,
          stealReported: after.machine.stolen > 0,
        },
        kernelThreads: kernelThreadTicksBetween(before.kernelThreads, after.kernelThreads),
        gc: {
          server: {
            full: after.metrics.gc.full - before.metrics.gc.full,
            fullPauseMs: 1000 * (after.metrics.gc.fullPauseSeconds - before.metrics.gc.fullPauseSeconds),
            scavenges: after.metrics.gc.scavenges - before.metrics.gc.scavenges,
            scavengePauseMs: 1000 * (after.metrics.gc.scavengePauseSeconds - before.metrics.gc.scavengePauseSeconds),
          },
          loadGenerator: ownCollections.end(),
        },
      };
    },
  };
}

/** One pair's open session: the customer sends, and its RECEIPTs and the agent's MESSAGEs go to the {@link Answers}. */
interface Chat {
  readonly customer: StompPeer;
  readonly sessionId: string;
}

async function startChat(server: BenchServer, index: number, peers: StompPeer[], rejections: Map<string, number>, answers: Answers): Promise<Chat> {
  const customer = await StompPeer.connect(server.stompUrl, await server.token(`bench-customer-${index}`, 'customer'));
  peers.push(customer);
  const agent = await StompPeer.connect(server.stompUrl, await server.token(`bench-agent-${index}`, 'agent', `Agent ${index}`));
  peers.push(agent);
  const chat: Chat = { customer, sessionId: randomUUID() };
  customer.onReceipt = (receiptId) => answers.ledger?.receipted(receiptId, performance.now());
  customer.onRejection = (error) => rejections.set(error.code, (rejections.get(error.code) ?? 0) + 1);
  await customer.request('/app/chat/open', { sessionId: chat.sessionId, subject: 'benchmark' });
  await agent.request(`/app/chat/${chat.sessionId}/join`, {});
  await agent.subscribe(`/topic/chat/${chat.sessionId}`, (message) => {
    const body = JSON.parse(message.body) as { type: string; data: { messageId?: string } };
    if (body.type === 'ChatMessageSent' && body.data.messageId) answers.ledger?.delivered(body.data.messageId, performance.now());
  });
  return chat;
}

/** Where the chats' answers go: the ledger of the open-loop run in progress, or the last one. */
interface Answers {
  ledger?: RunLedger;
}

/**
 * When each message of one open-loop run had its RECEIPT and its MESSAGE (`performance.now()`; 0:
 * not yet), by the message's place in the run. Its id carries that place: a UUID whose first 20
 * hex digits are the run's and whose last 12 are the place, so an answer needs no map from ids to
 * messages, and an answer to another run's message is told apart and dropped. Two numbers a
 * message, and no object: in a 300-s run, an object, an id and two map entries a message grew
 * this process's heap to 330 MB, and the pauses of its collections made the run's slowest windows
 * (bench/NOTES.md, 2026-12-06, 21:37 – 23:20).
 */
class RunLedger {
  private readonly prefix = randomUUID().slice(0, 24);
  readonly receiptAt: Float64Array;
  readonly deliveryAt: Float64Array;

  constructor(readonly total: number) {
    this.receiptAt = new Float64Array(total);
    this.deliveryAt = new Float64Array(total);
  }

  messageId(place: number): string {
    return this.prefix + place.toString(16).padStart(12, '0');
  }

  receipted(messageId: string, at: number): void {
    this.record(this.receiptAt, messageId, at);
  }

  delivered(messageId: string, at: number): void {
    this.record(this.deliveryAt, messageId, at);
  }

  /** The first time only; ids of other runs, or of no run, are dropped. */
  private record(times: Float64Array, messageId: string, at: number): void {
    if (messageId.length !== 36 || !messageId.startsWith(this.prefix)) return;
    const place = Number.parseInt(messageId.slice(24), 16);
    if (place < this.total && times[place] === 0) times[place] = at;
  }
}

/** What a flooder's SENDs came to in one run. */
interface FloodOutcome {
  sent: number;
  receipted: number;
  rateLimited: number;
  otherwise: number;
}

/** A customer that sends far more than it may, to its own session, and counts the answers of each run. */
async function startFlood(server: BenchServer, index: number, peers: StompPeer[]) {
  const customer = await StompPeer.connect(server.stompUrl, await server.token(`bench-flooder-${index}`, 'customer'));
  peers.push(customer);
  const sessionId = randomUUID();
  await customer.request('/app/chat/open', { sessionId, subject: 'flood' });
  let counts: FloodOutcome = { sent: 0, receipted: 0, rateLimited: 0, otherwise: 0 };
  customer.onReceipt = () => counts.receipted++;
  customer.onRejection = (error) => (error.code === 'RATE_LIMITED' ? counts.rateLimited++ : counts.otherwise++);
  return {
    async run(rate: number, seconds: number): Promise<FloodOutcome> {
      const run: FloodOutcome = (counts = { sent: 0, receipted: 0, rateLimited: 0, otherwise: 0 });
      const start = performance.now();
      const total = Math.round(rate * seconds);
      while (run.sent < total) {
        const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000));
        for (; run.sent < due; run.sent++) customer.send(`/app/chat/${sessionId}/messages`, { messageId: randomUUID(), body: 'flood' });
        await sleep(1);
      }
      const answered = () => run.receipted + run.rateLimited + run.otherwise >= run.sent;
      const deadline = performance.now() + 30_000;
      while (!answered() && performance.now() < deadline) await sleep(20);
      return run;
    },
  };
}

interface LoopResult {
  readonly sent: number;
  readonly lost: number;
  readonly achievedRate: number;
  readonly receiptLatencies: number[];
  readonly deliveryLatencies: number[];
  /** How long after its RECEIPT each message's MESSAGE came, in ms, for those that had both. */
  readonly deliveryAfterReceipt: number[];
  /** When each delivered message was due, in ms from the start of the run, in the order of `deliveryLatencies`. */
  readonly deliveryDueAt: number[];
  /** When each receipted message was due, in ms from the start of the run, in the order of `receiptLatencies`. */
  readonly receiptDueAt: number[];
  /** How long after its scheduled time this process sent each message, in ms, in the order they were due. */
  readonly sendLateness: number[];
  /** The machine's CPU ticks when each quarter of the messages began to be sent, and when the last was. */
  readonly quarterTicks: ReadonlyArray<MachineTicks | undefined>;
}

/** Sends `rate` messages a second, round-robin over the chats, each at its scheduled time. */
async function runOpenLoop(chats: Chat[], answers: Answers, rate: number, seconds: number): Promise<LoopResult> {
  const total = Math.round(rate * seconds);
  const ledger = (answers.ledger = new RunLedger(total));
  const sendLateness = new Float64Array(total);
  const start = performance.now() + 100;
  const dueAt = (place: number) => start + (place * 1000) / rate;
  let next = 0;
  // One read of /proc/stat at each quarter's first send and after the last: a file, not a process.
  const quarterTicks: Array<Promise<MachineTicks | undefined>> = [];
  const quarterOf = (place: number) => Math.floor((place * 4) / total);
  // How many of the messages, from the first, have had both their RECEIPT and their MESSAGE, kept up
  // as the run goes. A scan of the whole run once it was sent held this event loop for 20 ms (20,000
  // messages; 9 ms at each poll after) just as the answers to the last ones came in, and so counted
  // them late: the slowest messages of some runs were their last (bench/NOTES.md, 2026-12-06).
  let answered = 0;
  const allAnswered = () => {
    for (; answered < next; answered++) {
      if (ledger.receiptAt[answered] === 0 || ledger.deliveryAt[answered] === 0) return false;
    }
    return answered === total;
  };
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (next < total && dueAt(next) <= now) {
        if (quarterTicks.length === quarterOf(next)) quarterTicks.push(machineTicks());
        const chat = chats[next % chats.length]!;
        const messageId = ledger.messageId(next);
        chat.customer.send(`/app/chat/${chat.sessionId}/messages`, { messageId, body: `benchmark message ${next}` }, messageId);
        sendLateness[next] = performance.now() - dueAt(next);
        next++;
      }
      allAnswered();
      if (next < total) setTimeout(tick, 1);
      else {
        quarterTicks.push(machineTicks());
        resolve();
      }
    };
    tick();
  });
  const deadline = performance.now() + 30_000;
  while (!allAnswered() && performance.now() < deadline) await sleep(20);
  const receiptLatencies: number[] = [];
  const receiptDueAt: number[] = [];
  const deliveryLatencies: number[] = [];
  const deliveryDueAt: number[] = [];
  const deliveryAfterReceipt: number[] = [];
  let lastReceipt = -Infinity;
  for (let place = 0; place < total; place++) {
    const [at, receipt, delivery] = [dueAt(place), ledger.receiptAt[place]!, ledger.deliveryAt[place]!];
    if (receipt > 0) {
      receiptLatencies.push(receipt - at);
      receiptDueAt.push(at - start);
      lastReceipt = Math.max(lastReceipt, receipt);
    }
    if (delivery > 0) {
      deliveryLatencies.push(delivery - at);
      deliveryDueAt.push(at - start);
    }
    if (receipt > 0 && delivery > 0) deliveryAfterReceipt.push(delivery - receipt);
  }
  return {
    sent: total,
    lost: total - deliveryAfterReceipt.length,
    achievedRate: receiptLatencies.length / ((lastReceipt - start) / 1000),
    receiptLatencies,
    deliveryLatencies,
    deliveryAfterReceipt,
    deliveryDueAt,
    receiptDueAt,
    sendLateness: Array.from(sendLateness),
    quarterTicks: await Promise.all(quarterTicks),
  };
}

/** How `npm run bench -- soak` reads a run at its end. */
import type { ServerMetrics } from './server-process.js';
import type { Report } from './soak-stats.js';
import { fmt, mib, ms, quantile, summary } from './stats.js';

/** Memory growth after the warm-up beyond this share is a failure (the issue's rule). */
const MEMORY_GROWTH_ALLOWED = 0.1;
/** p99 has risen when the later half's median p99 exceeds the earlier half's by both of these. */
const P99_RISE = { ratio: 1.5, ms: 5 };
/**
 * The server's bounded memories that every session fills, however few are open at a time
 * (`/metrics`, `parley_memory_entries`): the session rows the projection remembers and the
 * inbox's last revisions, 10,000 sessions each. Until they are full the live heap grows by
 * design, some 13 minutes at 500 messages/s. (The write side's cache holds the open sessions.)
 */
const PAST_SESSION_MEMORIES = ['projection_chat', 'inbox'] as const;

/** Whether the server's memories of past sessions are full, by its `/metrics`. */
export function pastSessionMemoriesFull(metrics: ServerMetrics): boolean {
  return PAST_SESSION_MEMORIES.every((name) => {
    const usage = metrics.memories.get(name);
    return usage !== undefined && usage.entries >= usage.capacity;
  });
}

/** How full the server's memories of past sessions are: "projection_chat 7,012 of 10,000, inbox …". */
export function pastSessionMemoriesFill(metrics: ServerMetrics): string {
  return PAST_SESSION_MEMORIES.map((name) => {
    const usage = metrics.memories.get(name);
    return usage ? `${name} ${fmt(usage.entries)} of ${fmt(usage.capacity)}` : `${name} not listed`;
  }).join(', ');
}

export interface SoakRun {
  readonly reports: readonly Report[];
  /** The first reports, not judged: memories fill, code is optimised. Undefined: the warm-up had not ended. */
  readonly warmupReports: number | undefined;
  /** The target, in messages a second. */
  readonly rate: number;
  /** Messages still unanswered at the end (after a 10 s grace). */
  readonly lostAtEnd: number;
  /** The server's live heap (after full collections) at the end of the warm-up, and at the end. */
  readonly liveHeapAfterWarmup: number;
  readonly liveHeapAtEnd: number;
}

/**
 * Prints the run after its warm-up: throughput against the target, latency over the whole run,
 * counts of what went wrong, and two verdicts.
 *
 * Memory is flat unless what a leak would grow grew by more than 10 % after the warm-up: the
 * live heap (read after full collections at the end of the warm-up and at the end), or the
 * memory outside V8's heap (RSS less the heap V8 has committed, in the first report after the
 * warm-up and in the last). The live heap's growth is not judged when a `--warmup-seconds` ended
 * before the server's memories of past sessions were full. The rest of the RSS, the heap V8 has
 * committed, is not judged: V8 lets it grow to several times the live heap (four with the
 * server's `--heap-growing-percent=300`) and keeps it, which takes minutes of load after a full
 * collection, and its size follows the live heap's. The RSS, first, last and peak, is printed
 * beside.
 *
 * Latency: the median of the per-report p99s over the later half of the run against the earlier
 * half.
 */
export function judge(run: SoakRun): void {
  if (run.warmupReports === undefined) {
    const fill = pastSessionMemoriesFill(run.reports.at(-1)!.server);
    console.log(`summary: nothing to judge, the server's memories of past sessions were still filling at the end (${fill}); run longer, or give --warmup-seconds`);
    return;
  }
  const judged = run.reports.slice(run.warmupReports);
  const warmupEnd = run.reports[run.warmupReports - 1]!;
  console.log(`summary, after a warm-up of ${fmt(warmupEnd.at)} s:`);
  if (judged.length === 0) {
    console.log('  nothing to judge: the run is no longer than its warm-up');
    return;
  }
  printTraffic(run, judged);
  printServer(run, judged, warmupEnd.server);
  if (judged.length < 2) {
    console.log('  p99:        one report after the warm-up: too short to tell whether it is flat');
    return;
  }
  console.log(`  p99:        RECEIPT ${latencyVerdict(judged, (report) => report.traffic.receiptMs)}`);
  console.log(`              MESSAGE ${latencyVerdict(judged, (report) => report.traffic.deliveryMs)}`);
}

function printTraffic(run: SoakRun, judged: readonly Report[]): void {
  const seconds = judged.reduce((sum, report) => sum + report.seconds, 0);
  const total = (count: (report: Report) => number) => judged.reduce((sum, report) => sum + count(report), 0);
  const rejections = new Map<string, number>();
  for (const report of judged) for (const [code, count] of report.traffic.rejections) rejections.set(code, (rejections.get(code) ?? 0) + count);
  console.log(`  throughput: ${fmt(total((r) => r.traffic.messages) / seconds)} messages/s RECEIPTed (target ${fmt(run.rate)}), ${fmt(total((r) => r.traffic.commands) / seconds)} other commands/s`);
  console.log(`  RECEIPT:    ${summary(judged.flatMap((report) => report.traffic.receiptMs))}`);
  console.log(`  MESSAGE:    ${summary(judged.flatMap((report) => report.traffic.deliveryMs))} (at the other participant)`);
  console.log(
    `  sessions rated ${fmt(total((r) => r.traffic.sessionsRated))}, reconnections ${fmt(total((r) => r.traffic.reconnects))} ` +
      `(SENDs resent after them ${fmt(total((r) => r.traffic.resent))}), ` +
      `lost ${fmt(total((r) => r.traffic.lost) + run.lostAtEnd)}, revision anomalies ${fmt(total((r) => r.traffic.anomalies))}, ` +
      `failures ${fmt(total((r) => r.traffic.failures))}, rejections ${[...rejections].map(([code, count]) => `${code}×${count}`).join(' ') || 'none'}`,
  );
}

function printServer(run: SoakRun, judged: readonly Report[], atWarmupEnd: ServerMetrics): void {
  const worst = (figure: (report: Report) => number) => Math.max(...judged.map(figure));
  const cpu = judged.reduce((sum, report) => sum + report.serverCpuPercent * report.seconds, 0) / judged.reduce((sum, report) => sum + report.seconds, 0);
  console.log(`  server:     event-loop delay worst p99 ${ms(worst((r) => r.server.eventLoopP99Ms))}, worst max ${ms(worst((r) => r.server.eventLoopMaxMs))}; CPU ${fmt(cpu)} % of a core on average`);
  const [first, last] = [judged[0]!.server, judged.at(-1)!.server];
  const outsideHeap = (memory: ServerMetrics) => memory.rssBytes - memory.heapTotalBytes;
  const liveGrowth = run.liveHeapAtEnd / run.liveHeapAfterWarmup - 1;
  const outsideGrowth = outsideHeap(last) / outsideHeap(first) - 1;
  const [liveGrew, outsideGrew] = [liveGrowth, outsideGrowth].map((growth) => growth > MEMORY_GROWTH_ALLOWED);
  // The live heap grows by design while those memories fill, so its growth then tells nothing of a
  // leak; what grows outside V8's heap is none of theirs.
  const verdict = outsideGrew || (liveGrew && pastSessionMemoriesFull(atWarmupEnd))
    ? `FAILED, grown by more than ${MEMORY_GROWTH_ALLOWED * 100} %`
    : liveGrew
      ? `the live heap grown by more than ${MEMORY_GROWTH_ALLOWED * 100} %, NOT JUDGED: the server's memories of past sessions were still filling at the end of the warm-up (${pastSessionMemoriesFill(atWarmupEnd)}); leave out --warmup-seconds, and the warm-up lasts until they are full`
      : `flat (within ${MEMORY_GROWTH_ALLOWED * 100} %)`;
  console.log(
    `  memory:     live heap ${mib(run.liveHeapAfterWarmup)} at the end of the warm-up, ${mib(run.liveHeapAtEnd)} at the end (${percent(liveGrowth)}), each the least of three readings after full collections; ` +
      `outside V8's heap ${mib(outsideHeap(first))} in the first report after the warm-up, ${mib(outsideHeap(last))} in the last (${percent(outsideGrowth)}): ${verdict}`,
  );
  const rss = judged.map((report) => report.server.rssBytes);
  console.log(
    `              RSS ${mib(first.rssBytes)} in the first report after the warm-up, ${mib(last.rssBytes)} in the last (${percent(last.rssBytes / first.rssBytes - 1)}), peak ${mib(Math.max(...rss))}; ` +
      `of it V8's committed heap ${mib(first.heapTotalBytes)}, then ${mib(last.heapTotalBytes)}`,
  );
}

function latencyVerdict(judged: readonly Report[], latencies: (report: Report) => number[]): string {
  const p99s = judged.map((report) => quantile(latencies(report), 0.99));
  const half = Math.floor(p99s.length / 2);
  const [earlier, later] = [quantile(p99s.slice(0, half), 0.5), quantile(p99s.slice(half), 0.5)];
  const rose = later > earlier * P99_RISE.ratio && later - earlier > P99_RISE.ms;
  const figures = `median p99 ${ms(earlier)} in the earlier half, ${ms(later)} in the later half`;
  return rose ? `${figures}: ROSE (more than ×${P99_RISE.ratio} and ${P99_RISE.ms} ms)` : `${figures}: flat`;
}

function percent(share: number): string {
  return Number.isFinite(share) ? `${share >= 0 ? '+' : ''}${(share * 100).toFixed(1)} %` : '-';
}

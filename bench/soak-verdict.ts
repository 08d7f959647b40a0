/** How `npm run bench -- soak` reads a run at its end. */
import type { Report } from './soak-stats.js';
import { fmt, mib, ms, quantile, summary } from './stats.js';

/** RSS growth after the warm-up beyond this share is a failure (the issue's rule). */
const MEMORY_GROWTH_ALLOWED = 0.1;
/** p99 has risen when the later half's median p99 exceeds the earlier half's by both of these. */
const P99_RISE = { ratio: 1.5, ms: 5 };

export interface SoakRun {
  readonly reports: readonly Report[];
  /** The first reports, not judged: caches fill, code is optimised. */
  readonly warmupReports: number;
  /** The target, in messages a second. */
  readonly rate: number;
  /** Messages still unanswered at the end (after a 10 s grace). */
  readonly lostAtEnd: number;
  /** The server's used heap just after a full collection, at the end of the warm-up and at the end. */
  readonly liveHeapAfterWarmup: number;
  readonly liveHeapAtEnd: number;
}

/**
 * Prints the run after its warm-up: throughput against the target, latency over the whole run,
 * counts of what went wrong, and two verdicts. Memory: the RSS of the last report against the
 * first report after the warm-up (at whose start a full collection shed what starting up left),
 * flat unless it grew by more than 10 %; beside it the live heap, just after a full collection at
 * the end of the warm-up and at the end: the sharper sign of a leak, as RSS rarely shrinks.
 * Latency: the median of the per-report p99s over the later half of the run against the earlier
 * half.
 */
export function judge(run: SoakRun): void {
  const judged = run.reports.slice(run.warmupReports);
  console.log(`summary, after a warm-up of ${fmt(run.reports[run.warmupReports - 1]!.at)} s:`);
  if (judged.length === 0) {
    console.log('  nothing to judge: the run is no longer than its warm-up');
    return;
  }
  printTraffic(run, judged);
  printServer(run, judged);
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

function printServer(run: SoakRun, judged: readonly Report[]): void {
  const worst = (figure: (report: Report) => number) => Math.max(...judged.map(figure));
  const cpu = judged.reduce((sum, report) => sum + report.serverCpuPercent * report.seconds, 0) / judged.reduce((sum, report) => sum + report.seconds, 0);
  console.log(`  server:     event-loop delay worst p99 ${ms(worst((r) => r.server.eventLoopP99Ms))}, worst max ${ms(worst((r) => r.server.eventLoopMaxMs))}; CPU ${fmt(cpu)} % of a core on average`);
  console.log(`  memory:     ${memoryVerdict(judged)}`);
  const [before, after] = [run.liveHeapAfterWarmup, run.liveHeapAtEnd];
  console.log(`              live heap ${mib(before)} at the end of the warm-up, ${mib(after)} at the end (${percent(after / before - 1)}), each just after a full collection`);
}

function memoryVerdict(judged: readonly Report[]): string {
  const [first, last] = [judged[0]!.server.rssBytes, judged.at(-1)!.server.rssBytes];
  const growth = last / first - 1;
  const figures = `RSS ${mib(first)} in the first report after the warm-up, ${mib(last)} in the last (${percent(growth)}), peak ${mib(Math.max(...judged.map((report) => report.server.rssBytes)))}`;
  return growth > MEMORY_GROWTH_ALLOWED
    ? `${figures}: FAILED, it grew by more than ${MEMORY_GROWTH_ALLOWED * 100} %`
    : `${figures}: flat (within ${MEMORY_GROWTH_ALLOWED * 100} %)`;
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

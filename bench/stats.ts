/** Figures as the benchmarks print them, and the waits they share. */

/** The `q` quantile (0 to 1) of `values`, by the nearest-rank method; NaN when there are none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** `p50 …, p90 …, p99 …, max … (n samples)` of latencies in milliseconds. */
export function summary(latencies: readonly number[]): string {
  if (latencies.length === 0) return 'none';
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(1);
  return `p50 ${at(0.5)} ms, p90 ${at(0.9)} ms, p99 ${at(0.99)} ms, max ${sorted.at(-1)!.toFixed(1)} ms (${fmt(latencies.length)} samples)`;
}

/** A whole number with thousands separators. */
export function fmt(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '-';
}

/** Bytes in MiB, one decimal. */
export function mib(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : '-';
}

/** Bytes in KiB, one decimal. */
export function kib(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / 1024).toFixed(1)} KiB` : '-';
}

/** Milliseconds, one decimal; `-` when not measured. */
export function ms(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(1)} ms` : '-';
}

/** A percentage, one decimal; `-` when not known. */
export function percent(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(1)} %` : '-';
}

/** Seconds, two decimals; `-` when not known. */
export function sec(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)} s` : '-';
}

export function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

/** Polls `condition` every 20 ms until it holds or `timeoutMs` has passed. */
export async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition() && performance.now() < deadline) await sleep(20);
}

import { constants } from 'node:os';

/**
 * The signals that ask Parley's processes to stop: Ctrl-C's, a service manager's, and a closed
 * terminal's (SIGHUP, which would otherwise end the process there and then).
 */
export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

/**
 * A repeat of a stop signal this soon after the first is the same request delivered twice, not a
 * second one: `npm run` forwards the terminal's Ctrl-C to its script, which the terminal signals
 * as well once its shell has made way for it (bash runs a script's last command in its own place;
 * dash, Debian's sh, does not), and systemd signals every process of a service.
 */
const SAME_REQUEST_MS = 1_000;

/** The exit status of a process `signal` ended: 128 and its number (SIGHUP 129, SIGINT 130, SIGTERM 143). */
export function signalExitStatus(signal: StopSignal): number {
  return 128 + constants.signals[signal];
}

/**
 * Takes SIGINT, SIGTERM and SIGHUP from now on. The first calls `stop`, once; another, a second or
 * more later, exits at once with {@link signalExitStatus}, leaving what is still running as it is
 * (an embedded PostgreSQL: the next process to use it adopts it). On SIGHUP, what the process
 * writes to a terminal is dropped from then on (see {@link leaveClosedTerminal}).
 */
export function onStopSignal(stop: (signal: StopSignal) => void): void {
  let first: number | undefined;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (signal === 'SIGHUP') leaveClosedTerminal();
      if (first === undefined) {
        first = performance.now();
        stop(signal);
      } else if (performance.now() - first >= SAME_REQUEST_MS) {
        process.exit(signalExitStatus(signal));
      }
    });
  }
}

/**
 * Drops what the process writes to its terminal, closed when SIGHUP comes: each write would fail
 * (EIO), and the error (unhandled, or rethrown by roarr, slonik's logger, which listens for those of
 * stdout) would end the process before its stop.
 */
function leaveClosedTerminal(): void {
  for (const stream of [process.stdout, process.stderr]) {
    if (!stream.isTTY) continue;
    stream.write = ((...args: unknown[]) => {
      const done = args.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      if (done) process.nextTick(done);
      return true;
    }) as typeof stream.write;
  }
}

import { constants } from 'node:os';

/** The signals that ask Parley's processes to stop: Ctrl-C's, and a service manager's. */
export type StopSignal = 'SIGINT' | 'SIGTERM';

/**
 * A repeat of a stop signal this soon after the first is the same request delivered twice, not a
 * second one: `npm run` forwards the terminal's Ctrl-C to its script, which the terminal signals
 * as well once its shell has made way for it (bash runs a script's last command in its own place;
 * dash, Debian's sh, does not), and systemd signals every process of a service.
 */
const SAME_REQUEST_MS = 1_000;

/** The exit status of a process that `signal` ended: 128 and its number, 130 for SIGINT, 143 for SIGTERM. */
export function signalExitStatus(signal: StopSignal): number {
  return 128 + constants.signals[signal];
}

/**
 * Takes SIGINT and SIGTERM from now on. The first calls `stop`, once; another, a second or more
 * later, exits at once with {@link signalExitStatus}, leaving what is still running as it is (an
 * embedded PostgreSQL: the next process to use it adopts it).
 */
export function onStopSignal(stop: (signal: StopSignal) => void): void {
  let first: number | undefined;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (first === undefined) {
        first = performance.now();
        stop(signal);
      } else if (performance.now() - first >= SAME_REQUEST_MS) {
        process.exit(signalExitStatus(signal));
      }
    });
  }
}

import { onStopSignal, signalExitStatus } from '../src/stop-signals.js';

/**
 * What a benchmark undoes when it is interrupted (Ctrl-C, SIGTERM, its terminal closed) or crashes.
 * Its embedded PostgreSQL runs as a daemon of its own (`pg_ctl` starts it in a session of its own),
 * which a Ctrl-C in the terminal does not reach, and its temporary folders would stay behind: each
 * resource registers its stop here while it lives. On SIGINT, SIGTERM or SIGHUP they are stopped,
 * the latest first, and the process exits as the signal would have ended it (130, 143, 129); a
 * second signal, a second or more after the first, exits at once (`src/stop-signals.ts`: one
 * sooner is the same Ctrl-C, which `npm run` passes on to a benchmark the terminal signals too).
 * An uncaught error stops them too, then exits 1.
 */
const stops: (() => Promise<void>)[] = [];
let stopping = false;

/**
 * `run` made a stop that an interruption or a crash calls too, until it has been called: whoever
 * calls it first runs it, once, and the others wait for that run.
 */
export function stopOnInterrupt(run: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  const stop = () => (done ??= run());
  stops.push(stop);
  return () => {
    const index = stops.indexOf(stop);
    if (index !== -1) stops.splice(index, 1);
    return stop();
  };
}

/** Installs the handlers of SIGINT, SIGTERM, SIGHUP and uncaught errors (once, by `main`). */
export function stopOnInterruptOrCrash(): void {
  onStopSignal((signal) => {
    console.error(`${signal}: stopping what the benchmark started (again to exit at once)`);
    stopping = true;
    void stopAllThenExit(signalExitStatus(signal));
  });
  const crashed = (error: unknown) => {
    // Once stopping, the benchmark's own errors are the stop's doing (its server going away
    // under its clients): the stops go on.
    if (stopping) return;
    console.error(error);
    stopping = true;
    void stopAllThenExit(1);
  };
  process.on('uncaughtException', crashed);
  process.on('unhandledRejection', crashed);
}

async function stopAllThenExit(code: number): Promise<never> {
  for (const stop of stops.splice(0).reverse()) {
    await stop().catch((error: unknown) => console.error(`while stopping: ${String((error as Error).message ?? error)}`));
  }
  process.exit(code);
}

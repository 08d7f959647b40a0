/**
 * What a benchmark undoes when it is interrupted (Ctrl-C, SIGTERM) or crashes. Its embedded
 * PostgreSQL runs as a daemon of its own (`pg_ctl` starts it in a session of its own), which a
 * Ctrl-C in the terminal does not reach, and its temporary folders would stay behind: each
 * resource registers its stop here while it lives. On SIGINT or SIGTERM they are stopped, the
 * latest first, and the process exits as the signal would have ended it (130, 143); a second
 * signal exits at once. An uncaught error stops them too, then exits 1.
 */
const stops: (() => Promise<void>)[] = [];
let stopping: Promise<never> | undefined;

/** Has `stop` run on an interruption or a crash, until the returned function is called. */
export function stopOnInterrupt(stop: () => Promise<void>): () => void {
  stops.push(stop);
  return () => {
    const index = stops.indexOf(stop);
    if (index !== -1) stops.splice(index, 1);
  };
}

/** Installs the handlers of SIGINT, SIGTERM and uncaught errors (once, by `main`). */
export function stopOnInterruptOrCrash(): void {
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(code);
      console.error(`${signal}: stopping what the benchmark started (again to exit at once)`);
      stopping = stopAllThenExit(code);
    });
  }
  const crashed = (error: unknown) => {
    // Once stopping, the benchmark's own errors are the stop's doing (its server going away
    // under its clients): the stops go on.
    if (stopping) return;
    console.error(error);
    stopping = stopAllThenExit(1);
  };
  process.on('uncaughtException', crashed);
  process.on('unhandledRejection', crashed);
}

/**
 * Settles at once when no interruption is under way; otherwise never, as the process exits when
 * its stops are done. For the benchmark's own failure, which the interruption likely caused: it
 * must not end the process before them.
 */
export function interruptionDone(): Promise<void> {
  return stopping ?? Promise.resolve();
}

async function stopAllThenExit(code: number): Promise<never> {
  for (const stop of stops.splice(0).reverse()) {
    await stop().catch((error: unknown) => console.error(`while stopping: ${String((error as Error).message ?? error)}`));
  }
  process.exit(code);
}

/**
 * `run`, run once however often the result is called: a resource's stop may be called by its
 * owner and by an interruption alike, even both at once.
 */
export function once(run: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= run());
}

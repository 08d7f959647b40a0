/** Where a rebuild stands, for a progress bar (rate and ETA are the caller's). */
export interface RebuildProgress {
  /** Events projected into the new tables so far, skipped ones included. */
  readonly done: number;
  /** Events of the projection's category in the log when the rebuild started; `done` passes it when some are appended meanwhile. */
  readonly total: number;
}

/**
 * A rebuild's progress reports, made in order without holding the rebuild up: the log is
 * counted (for `total`) while the rebuild projects it, and each report waits for the count and
 * for the reports before it. A report that throws, or a count that fails, stops the rebuild at
 * its next look ({@link throwIfFailed}, {@link settle}).
 */
export class ProgressReports {
  private reported: Promise<void> = Promise.resolve();
  private failure?: { readonly error: unknown };

  constructor(
    private readonly total: Promise<number>,
    private readonly onProgress?: (progress: RebuildProgress) => void | Promise<void>,
  ) {
    // A count that fails before the first report is queued (the rebuild failed first, and its
    // error is the one told) must not crash the process as a rejection nobody handles; one
    // queued later still sees it.
    total.catch(() => {});
  }

  /** Queues the report of `done` events. */
  report(done: number): void {
    this.reported = this.reported.then(async () => {
      const total = await this.total;
      await this.onProgress?.({ done, total });
    });
    this.reported.catch((error: unknown) => {
      this.failure ??= { error };
    });
  }

  /** @throws what a report or the count threw, when one has. */
  throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure.error;
  }

  /**
   * Waits for the reports queued so far.
   * @throws what a report or the count threw.
   */
  async settle(): Promise<void> {
    await this.reported;
  }
}

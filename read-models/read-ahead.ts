import { type LogPosition, type RecordedEvent, compareLogPositions } from '../src/event-store/event-store.js';

/**
 * Pages of the log, read one ahead when asked to: the next page is read from the event store
 * while the current one is projected, through another connection.
 */
export class ReadAhead {
  private ahead?: { readonly after: LogPosition; readonly page: Promise<RecordedEvent[]> };

  constructor(private readonly read: (after: LogPosition) => Promise<RecordedEvent[]>) {}

  /** The page after `after`: the one read ahead when it starts there, else one read now. */
  async pageAfter(after: LogPosition): Promise<RecordedEvent[]> {
    const ahead = this.ahead;
    this.ahead = undefined;
    if (ahead !== undefined && compareLogPositions(ahead.after, after) === 0) return ahead.page;
    return this.read(after);
  }

  /** Starts reading the page after `after`, for the next {@link pageAfter}; a failure surfaces there. */
  readAhead(after: LogPosition): void {
    const page = this.read(after);
    page.catch(() => undefined); // not unhandled meanwhile: the awaiting caller gets the error
    this.ahead = { after, page };
  }
}

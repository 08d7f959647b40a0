/**
 * The ordered, exactly-once delivery of one session's events to one subscription, whatever the
 * projection lag or the LISTEN connection does (DESIGN.md, "STOMP contract", catch-up).
 *
 * Live notices are hints; the event store is the authority. The stream remembers the last
 * revision it delivered and only ever delivers the next one: a notice at or below it is a
 * duplicate and dropped; a notice further ahead reveals a gap, filled from the event store
 * first. Catching up (`since-revision`) and resyncing after a lost LISTEN connection are the
 * same thing: read the store from the last delivered revision + 1 to its end. Notices that
 * arrive meanwhile wait in a bounded buffer; when it overflows it is dropped, and the store is
 * read to its end again instead.
 */
import { ReadLoop } from './read-loop.js';
import type { SessionEvent, SessionReader } from './session-events.js';

/** Notices buffered while the stream reads the store; beyond it the store is simply read again. */
const MAX_PENDING = 256;
/** Events per read of the store. */
const PAGE_SIZE = 100;

export interface SessionStreamOptions {
  readonly sessionId: string;
  /** The revision the subscriber has already: only later events are delivered (-1: all). */
  readonly after: bigint;
  readonly reader: SessionReader;
  /** Hands one event to the subscriber. */
  readonly deliver: (event: SessionEvent) => void;
  /** Whether the subscriber can take more now; what is read from the store waits until it can. */
  readonly hasRoom: () => boolean;
  /** Resolves when the subscriber may take more again (its socket drained). */
  readonly drained: () => Promise<void>;
  /** A read of the store failed; it is retried with back-off. */
  readonly onReadError: (error: unknown) => void;
  /** Revisions announced by notices that the store did not return; they are skipped. */
  readonly onMissing: (fromRevision: bigint, toRevision: bigint) => void;
}

/** One subscription's view of a session: see the file's comment. Starts by reading the store. */
export class SessionStream {
  readonly #options: SessionStreamOptions;
  #lastDelivered: bigint;
  /** Announced revisions, with their event unless the notice was truncated. */
  readonly #pending = new Map<bigint, SessionEvent | undefined>();
  #readToEnd = true;
  #closed = false;
  readonly #loop = new ReadLoop({
    hasWork: () => this.#readToEnd || this.#pending.size > 0,
    step: () => this.#step(),
    failed: (error) => {
      this.#readToEnd = true; // whatever was not delivered, the store has it
      this.#options.onReadError(error);
    },
  });

  constructor(options: SessionStreamOptions) {
    this.#options = options;
    this.#lastDelivered = options.after;
    this.#loop.kick();
  }

  /** A projected event was announced; `event` is absent when the notice did not carry it. */
  offer(revision: bigint, event?: SessionEvent): void {
    if (this.#closed || revision <= this.#lastDelivered) return;
    if (this.#pending.size >= MAX_PENDING) {
      this.#pending.clear();
      this.#readToEnd = true;
    } else {
      this.#pending.set(revision, event);
    }
    this.#loop.kick();
  }

  /**
   * Notices may have been lost (the LISTEN connection was): read the store to its end, at once,
   * with no wait for a read that failed while the connection was away ({@link ReadLoop.now}).
   */
  resync(): void {
    this.#readToEnd = true;
    this.#loop.now();
  }

  /** Delivers nothing more. */
  close(): void {
    this.#closed = true;
    this.#pending.clear();
    this.#loop.close();
  }

  #step(): Promise<void> {
    if (!this.#readToEnd) return this.#deliverNextPending();
    this.#readToEnd = false;
    return this.#fill(undefined);
  }

  /** Delivers the lowest announced revision, after filling any gap before it from the store. */
  async #deliverNextPending(): Promise<void> {
    const revision = lowest(this.#pending.keys());
    const event = this.#pending.get(revision);
    this.#pending.delete(revision);
    if (revision <= this.#lastDelivered) return;
    if (revision === this.#lastDelivered + 1n && event !== undefined) return this.#deliver(event);
    await this.#fill(revision);
    if (this.#closed || this.#lastDelivered >= revision) return;
    // The store should hold every revision up to one that was projected; never wait for it forever.
    this.#options.onMissing(this.#lastDelivered + 1n, event === undefined ? revision : revision - 1n);
    if (event !== undefined) this.#deliver(event);
  }

  /** Reads the store after the last delivered revision, up to `upTo` (inclusive) or its end. */
  async #fill(upTo: bigint | undefined): Promise<void> {
    for (;;) {
      const wanted = upTo === undefined ? PAGE_SIZE : Math.min(PAGE_SIZE, Number(upTo - this.#lastDelivered));
      if (wanted <= 0) return;
      const events = await this.#options.reader.read(this.#options.sessionId, this.#lastDelivered + 1n, wanted);
      for (const event of events) {
        // Room is checked right before each delivery, not when the socket drained: streams that
        // wait on one socket then fill it in turn, not each with an event at once past its bound.
        while (!this.#closed && !this.#options.hasRoom()) await this.#options.drained();
        if (this.#closed) return;
        if (event.revision === this.#lastDelivered + 1n) this.#deliver(event);
      }
      if (events.length < wanted) return;
    }
  }

  #deliver(event: SessionEvent): void {
    this.#lastDelivered = event.revision;
    this.#options.deliver(event);
  }
}

function lowest(revisions: Iterable<bigint>): bigint {
  let found: bigint | undefined;
  for (const revision of revisions) if (found === undefined || revision < found) found = revision;
  return found!;
}

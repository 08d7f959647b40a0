/**
 * The ordered, once-only delivery of the session list's changes (`/topic/inbox`) to one
 * subscription, at the pace of its socket (DESIGN.md, "STOMP contract").
 *
 * Live events come from the node's notices and are sent at once. After notices were lost (the
 * LISTEN connection was), the stream reads the log itself, from its place in it up to the
 * projector's checkpoint, and sends what it read only while its socket has room: a subscriber
 * that reads slowly holds up no other, and what waits for it is one page. Live events that arrive
 * meanwhile wait behind the read in a bounded buffer. When it overflows, the subscriber is not
 * keeping up: the buffer is dropped, the log read further instead, and sent without waiting for
 * room, so that a subscriber that does not read is dropped as a slow consumer by its connection
 * rather than waited for without end. The stream's place in the log, the position of the last
 * event it passed, drops what it would be told twice: the notice of an event it read, a notice
 * announced again.
 */
import { CHAT_SESSION_CATEGORY } from '../chat-session/chat-session.events.js';
import { compareLogPositions, type EventStore, type LogPosition } from '../event-store/event-store.js';
import { ReadLoop } from './read-loop.js';
import { type SessionEvent, sessionEventOf } from './session-events.js';

/** The events an agent's inbox hears of: the session list changes (DESIGN.md, `/topic/inbox`). */
export const INBOX_EVENT_TYPES: ReadonlySet<string> = new Set([
  'ChatSessionOpened',
  'AgentJoined',
  'AgentLeft',
  'ChatMessageSent',
  'ChatSessionClosed',
  'ChatSessionRated',
]);

/** Live events buffered while the stream reads the log; beyond it the log is read further instead. */
const MAX_PENDING = 256;
/** Events per read of the log: what one subscription waiting for room holds at most. */
const PAGE_SIZE = 100;

export interface InboxStreamOptions {
  /** The stream's place in the log: what is after it is to be delivered; unset, the checkpoint's. */
  readonly after: LogPosition | undefined;
  readonly log: Pick<EventStore, 'readAll'>;
  /** How far the projector has announced the log (its checkpoint): how far a read goes. */
  readonly announcedUpTo: () => Promise<LogPosition>;
  /** Hands one event to the subscriber. */
  readonly deliver: (event: SessionEvent) => void;
  /** Whether the subscriber can take more now; what is read from the log waits until it can. */
  readonly hasRoom: () => boolean;
  /** Resolves when the subscriber may take more again (its socket drained). */
  readonly drained: () => Promise<void>;
  /** A read of the log failed; it is retried with back-off ({@link ReadLoop}). */
  readonly onReadError: (error: unknown) => void;
}

interface Announced {
  readonly event: SessionEvent;
  /** Absent from the notices of a projector of an earlier release. */
  readonly logPosition: LogPosition | undefined;
}

/** One inbox subscription's view of the log: see the file's comment. */
export class InboxStream {
  readonly #options: InboxStreamOptions;
  #after: LogPosition | undefined;
  readonly #pending: Announced[] = [];
  #readToEnd = false;
  /** Live events overflowed the buffer while the subscriber had no room: it is sent without waiting. */
  #behind = false;
  /** Ends the wait for room when the stream falls behind. */
  #stopWaiting: (() => void) | undefined;
  #closed = false;
  readonly #loop = new ReadLoop({
    hasWork: () => this.#readToEnd || this.#pending.length > 0,
    step: () => this.#step(),
    failed: (error) => {
      this.#readToEnd = true; // whatever was not delivered, the log has it
      this.#options.onReadError(error);
    },
  });

  constructor(options: InboxStreamOptions) {
    this.#options = options;
    this.#after = options.after;
  }

  /** A projected event of the inbox's types was announced, at `logPosition` when the notice said. */
  offer(event: SessionEvent, logPosition: LogPosition | undefined): void {
    if (this.#closed || this.#passed(logPosition)) return;
    if (!this.#loop.busy && !this.#readToEnd) return this.#deliver(event, logPosition);
    if (this.#pending.length >= MAX_PENDING) {
      this.#pending.length = 0;
      this.#readToEnd = true;
      this.#behind = true;
      this.#stopWaiting?.();
    } else {
      this.#pending.push({ event, logPosition });
    }
    this.#loop.kick();
  }

  /**
   * Notices may have been lost (the LISTEN connection was): read the log up to the checkpoint.
   * At once: the connection is back, so a read that failed meanwhile need not wait out its back-off.
   */
  resync(): void {
    this.#readToEnd = true;
    this.#loop.now();
  }

  /** Delivers nothing more. */
  close(): void {
    this.#closed = true;
    this.#pending.length = 0;
    this.#loop.close();
    this.#stopWaiting?.();
  }

  async #step(): Promise<void> {
    if (this.#readToEnd) {
      this.#readToEnd = false;
      await this.#readLog();
      // Caught up, unless live events overflowed again meanwhile: what follows waits for room again.
      if (!this.#readToEnd) this.#behind = false;
      return;
    }
    const { event, logPosition } = this.#pending.shift()!;
    if (!this.#passed(logPosition)) this.#deliver(event, logPosition);
  }

  /** Reads the log after the stream's place up to the checkpoint, sending while there is room. */
  async #readLog(): Promise<void> {
    const upTo = await this.#options.announcedUpTo();
    this.#after ??= upTo;
    while (!this.#closed && compareLogPositions(this.#after, upTo) < 0) {
      const page = await this.#options.log.readAll({ after: this.#after, category: CHAT_SESSION_CATEGORY, maxCount: PAGE_SIZE });
      for (const recorded of page) {
        if (compareLogPositions(recorded.logPosition, upTo) > 0) return;
        if (INBOX_EVENT_TYPES.has(recorded.type)) {
          // Room is checked right before each delivery: the subscriptions of one socket fill it in turn.
          while (!this.#closed && !this.#behind && !this.#options.hasRoom()) await this.#roomOrBehind();
          if (this.#closed) return;
          this.#options.deliver(sessionEventOf(recorded));
        }
        this.#after = recorded.logPosition;
      }
      if (page.length < PAGE_SIZE) return;
    }
  }

  /** Resolves when the subscriber may take more, or the stream fell behind. */
  #roomOrBehind(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#stopWaiting = resolve;
      void this.#options.drained().then(resolve);
    }).finally(() => (this.#stopWaiting = undefined));
  }

  /** Whether the stream has passed `logPosition` in the log already. */
  #passed(logPosition: LogPosition | undefined): boolean {
    return logPosition !== undefined && this.#after !== undefined && compareLogPositions(logPosition, this.#after) <= 0;
  }

  #deliver(event: SessionEvent, logPosition: LogPosition | undefined): void {
    if (logPosition !== undefined) this.#after = logPosition;
    this.#options.deliver(event);
  }
}

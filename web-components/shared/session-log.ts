import type { SessionEventMessage } from './protocol.js';

/** What became of an event offered to a {@link SessionLog}. */
export type Offered = 'applied' | 'duplicate' | 'gap';

/**
 * The revisions of one session a client has applied, so that a (re)subscription asks for
 * exactly what it lacks (`since-revision`), and an event seen twice — a catch-up overlapping
 * what was delivered live, a retry — is applied once, in order.
 */
export class SessionLog {
  #last: number;

  /** `last`: the last revision already applied (-1: none). */
  constructor(last = -1) {
    this.#last = last;
  }

  /** The last revision applied; -1 before the first. */
  get lastRevision(): number {
    return this.#last;
  }

  /** The `since-revision` header of the next subscription: every event after what was applied. */
  get sinceRevision(): string {
    return String(this.#last);
  }

  /**
   * `applied` when `event` is the next revision (the caller applies it), `duplicate` when it was
   * applied already, `gap` when revisions are missing before it: the caller drops it and
   * re-subscribes from {@link sinceRevision}.
   */
  offer(event: Pick<SessionEventMessage, 'revision'>): Offered {
    if (event.revision <= this.#last) return 'duplicate';
    if (event.revision > this.#last + 1) return 'gap';
    this.#last = event.revision;
    return 'applied';
  }
}

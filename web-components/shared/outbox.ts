import { isRetryable } from './protocol.js';

/** A command waiting to be stored by the server. */
export interface OutboxEntry {
  /** Unique in the outbox; for a message, its `messageId`, kept across retries and reloads. */
  readonly id: string;
  readonly destination: string;
  readonly body: Readonly<Record<string, unknown>>;
  /** `queued`: not sent, or to be sent again; `sending`: sent, its RECEIPT awaited. */
  readonly state: 'queued' | 'sending';
  readonly attempts: number;
  /** When it was written (ms since the epoch), to show it in place until stored. */
  readonly createdAt?: number;
  /** Not to be sent before this instant (ms since the epoch): after a retryable rejection. */
  readonly notBefore?: number;
  /** The code of that rejection, until it is sent again: why it waits. */
  readonly refusedWith?: string;
}

/** What a rejection did to an entry. */
export type RejectionOutcome =
  | { readonly retry: true; readonly at: number }
  | { readonly retry: false; readonly entry: OutboxEntry };

const RETRY_DELAYS_MS = [1_000, 2_000, 5_000, 10_000];

/**
 * The most commands an outbox holds. Offline for long, a client would otherwise fill the page's
 * storage (some 5 MB: a thousand messages of 4,000 characters), then lose what it could not
 * save, and send a backlog no one will read when back.
 */
export const OUTBOX_LIMIT = 100;

/**
 * The commands a client has issued and the server has not confirmed, in order. One is in flight
 * at a time, so that they are stored in the order they were written and a rejection is pinned on
 * the right one; every resend carries the original body (and so the original `messageId`), which
 * the server stores once however many times it arrives.
 *
 * Pure: the connection tells it what happened (`sending`, `stored`, `rejected`,
 * `connectionLost`) and asks it what to send `next`.
 */
export class Outbox {
  #entries: OutboxEntry[];

  /** `entries`: as saved by {@link toJSON}; those in flight then are queued again. */
  constructor(entries: readonly OutboxEntry[] = []) {
    this.#entries = entries.map((entry) => ({ ...entry, state: 'queued' }));
  }

  get entries(): readonly OutboxEntry[] {
    return this.#entries;
  }

  /**
   * Adds a command at the end; `inOrder` (one written in a page since closed), before the first
   * queued here that was written after it and is not in flight. One whose id is there already is
   * not added twice. `false` when the outbox holds {@link OUTBOX_LIMIT} commands already: this one
   * is not added.
   */
  enqueue(entry: Pick<OutboxEntry, 'id' | 'destination' | 'body' | 'createdAt'>, inOrder = false): boolean {
    if (this.#entries.some((queued) => queued.id === entry.id)) return true;
    if (this.#entries.length >= OUTBOX_LIMIT) return false;
    const written = entry.createdAt;
    const later = !inOrder || written === undefined
      ? -1
      : this.#entries.findIndex((queued) => queued.state === 'queued' && queued.createdAt !== undefined && queued.createdAt > written);
    const at = later === -1 ? this.#entries.length : later;
    this.#entries = [...this.#entries.slice(0, at), { ...entry, state: 'queued', attempts: 0 }, ...this.#entries.slice(at)];
    return true;
  }

  /** The entry to send now: the first, when none is in flight and its retry time has come. */
  next(now: number): OutboxEntry | undefined {
    const head = this.#entries[0];
    if (!head || head.state === 'sending') return undefined;
    return head.notBefore !== undefined && head.notBefore > now ? undefined : head;
  }

  /** When the head may be sent, if it waits for a retry time; otherwise undefined. */
  get retryAt(): number | undefined {
    const head = this.#entries[0];
    return head?.state === 'queued' ? head.notBefore : undefined;
  }

  sending(id: string): void {
    this.#update(id, (entry) => ({ ...entry, state: 'sending', attempts: entry.attempts + 1, refusedWith: undefined }));
  }

  /** The server stored it (RECEIPT): it leaves the outbox, and is returned. */
  stored(id: string): OutboxEntry | undefined {
    const entry = this.#entries.find((queued) => queued.id === id);
    this.#entries = this.#entries.filter((queued) => queued.id !== id);
    return entry;
  }

  /**
   * The server refused it. A retryable refusal (`isRetryable`: `UNAVAILABLE`, most
   * `RATE_LIMITED`) keeps it first in line until a later time; any other removes it, for good.
   */
  rejected(id: string, code: string, now: number): RejectionOutcome | undefined {
    const entry = this.#entries.find((queued) => queued.id === id);
    if (!entry) return undefined;
    if (isRetryable(code, entry.destination)) {
      const at = now + RETRY_DELAYS_MS[Math.min(entry.attempts - 1, RETRY_DELAYS_MS.length - 1)]!;
      this.#update(id, (queued) => ({ ...queued, state: 'queued', notBefore: at, refusedWith: code }));
      return { retry: true, at };
    }
    this.#entries = this.#entries.filter((queued) => queued.id !== id);
    return { retry: false, entry };
  }

  /** The connection dropped: what was in flight may or may not be stored, so it goes again. */
  connectionLost(): void {
    this.#entries = this.#entries.map((entry) => (entry.state === 'sending' ? { ...entry, state: 'queued' } : entry));
  }

  /** Removes every entry for which `drop` holds (a session given up, say). */
  discard(drop: (entry: OutboxEntry) => boolean): void {
    this.#entries = this.#entries.filter((entry) => !drop(entry));
  }

  toJSON(): OutboxEntry[] {
    return [...this.#entries];
  }

  #update(id: string, change: (entry: OutboxEntry) => OutboxEntry): void {
    this.#entries = this.#entries.map((entry) => (entry.id === id ? change(entry) : entry));
  }
}

import type { OutboxEntry } from './outbox.js';

/**
 * What a component keeps in localStorage, per server and user: the widget its open chat and its
 * unsent commands, the agent console its unsent commands.
 */
export interface SavedChat {
  readonly sessionId?: string | undefined;
  readonly outbox: OutboxEntry[];
  /**
   * The last revision of that session shown: the events up to it are history at the next load,
   * not news (not announced again, nor told to the host page again).
   */
  readonly seenRevision?: number | undefined;
  /** The customer skipped rating that session, once closed: not asked again at a later load. */
  readonly ratingSkipped?: true | undefined;
  /**
   * The ids of the outbox's entries whose page was closed with them unsent: the first other page of
   * the user to hear of it sends them (see {@link ChatStore.takeOver}).
   */
  readonly handedOver?: string[] | undefined;
}

/**
 * The localStorage key of a component's user of a server (its base URL, as `serverUrl` gives it):
 * one person's chat is not another's, nor one server's another's where two are served under paths
 * of one origin. A server at its origin's root keeps the key of the releases that keyed by the
 * origin alone (`parley-chat:https://chat.example.com:customer-1`): the chats they saved are found.
 */
export function storageKey(component: 'chat' | 'console', server: URL, userId: string): string {
  return `parley-${component}:${server.origin}${server.pathname.replace(/\/$/, '')}:${userId}`;
}

/**
 * The page's localStorage, or `undefined` where the browser denies it (site data blocked): there,
 * merely reading `localStorage` throws.
 */
export function pageStorage(): Storage | undefined {
  try {
    return globalThis.localStorage;
  } catch {
    return undefined;
  }
}

/** The chat saved under `key`; none without storage. */
export function loadChat(storage: Pick<Storage, 'getItem'> | undefined, key: string): SavedChat {
  if (storage === undefined) return { outbox: [] };
  try {
    const saved = JSON.parse(storage.getItem(key) ?? 'null') as Partial<SavedChat> | null;
    return {
      sessionId: typeof saved?.sessionId === 'string' ? saved.sessionId : undefined,
      outbox: Array.isArray(saved?.outbox) ? saved.outbox : [],
      ...(typeof saved?.seenRevision === 'number' ? { seenRevision: saved.seenRevision } : {}),
      ...(saved?.ratingSkipped === true ? { ratingSkipped: true } : {}),
      ...(Array.isArray(saved?.handedOver) ? { handedOver: saved.handedOver } : {}),
    };
  } catch {
    return { outbox: [] };
  }
}

/** Saves the chat under `key`, or not at all without storage. */
export function saveChat(storage: Pick<Storage, 'setItem' | 'removeItem'> | undefined, key: string, chat: SavedChat): void {
  if (storage === undefined) return;
  try {
    if (!chat.sessionId && chat.outbox.length === 0) storage.removeItem(key);
    else storage.setItem(key, JSON.stringify(chat));
  } catch {
    // Storage full or denied (private mode): the chat goes on, it just will not survive a reload.
  }
}

/**
 * One page's saved chat, under a key that other pages of the same user (other tabs) save theirs
 * under too. It writes its own outbox and keeps the entries another page saved that this page
 * never had: that page may have been closed with them unsent (offline), and they are sent at the
 * next load of any page. Whatever this page had and no longer has (stored, refused, discarded) is
 * not brought back. Likewise the chat saved is replaced only when this page takes up another one,
 * and removed only when it leaves the one saved: a page that merely saves its outbox (or has no
 * chat) never overwrites, nor erases, the chat another page saved meanwhile. A page closed hands
 * its unsent entries over ({@link handOver}); another page still open takes them up
 * ({@link takeOver}) and sends them, where they would otherwise wait for the next load.
 */
export class ChatStore {
  readonly #had = new Set<string>();
  /** The chat this page loaded or last saved. */
  #sessionId: string | undefined;

  constructor(
    readonly key: string,
    private readonly storage: () => (Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | undefined) = pageStorage,
  ) {}

  /** The saved chat; the entries of its outbox are this page's from now on. */
  load(): SavedChat {
    const chat = this.peek();
    for (const entry of chat.outbox) this.#had.add(entry.id);
    this.#sessionId = chat.sessionId;
    return chat;
  }

  /** The saved chat, as another page may have left it; nothing of it becomes this page's. */
  peek(): SavedChat {
    return loadChat(this.storage(), this.key);
  }

  save(chat: SavedChat): void {
    for (const entry of chat.outbox) this.#had.add(entry.id);
    const storage = this.storage();
    const saved = loadChat(storage, this.key);
    const others = saved.outbox.filter((entry) => !this.#had.has(entry.id));
    const handedOver = saved.handedOver?.filter((id) => others.some((entry) => entry.id === id)) ?? [];
    const left = chat.sessionId === undefined && saved.sessionId === this.#sessionId;
    const taken = chat.sessionId !== undefined && chat.sessionId !== this.#sessionId;
    const session = left || taken || saved.sessionId === chat.sessionId ? chat : saved;
    // A skip another page saved stays: this page may not have heard of it yet.
    const ratingSkipped = session.ratingSkipped ?? (saved.sessionId === session.sessionId ? saved.ratingSkipped : undefined);
    this.#sessionId = chat.sessionId;
    saveChat(storage, this.key, {
      sessionId: session.sessionId,
      outbox: [...chat.outbox, ...others],
      ...(session.seenRevision === undefined ? {} : { seenRevision: session.seenRevision }),
      ...(ratingSkipped ? { ratingSkipped } : {}),
      ...(handedOver.length > 0 ? { handedOver } : {}),
    });
  }

  /** This page closes: the entries of its `outbox` (saved) are for another page to send. */
  handOver(outbox: readonly OutboxEntry[]): void {
    const storage = this.storage();
    const saved = loadChat(storage, this.key);
    const handedOver = saved.outbox.filter((entry) => outbox.some((own) => own.id === entry.id) || saved.handedOver?.includes(entry.id));
    if (handedOver.length > 0) saveChat(storage, this.key, { ...saved, handedOver: handedOver.map((entry) => entry.id) });
  }

  /**
   * The entries another page handed over on closing, in order, each offered to `take`: those it
   * takes are this page's from now on (and saved as such at its next save).
   */
  takeOver(take: (entry: OutboxEntry) => boolean): void {
    const saved = this.peek();
    for (const entry of saved.outbox) {
      if (!this.#had.has(entry.id) && saved.handedOver?.includes(entry.id) && take(entry)) this.#had.add(entry.id);
    }
  }
}

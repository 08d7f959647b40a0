import type { OutboxEntry } from './outbox.js';

/**
 * What a component keeps in localStorage, per server and user: the widget its open chat and its
 * unsent commands, the agent console its unsent commands.
 */
export interface SavedChat {
  readonly sessionId?: string | undefined;
  readonly outbox: OutboxEntry[];
}

/** The localStorage key of a component's user of a server: one person's chat is not another's. */
export function storageKey(component: 'chat' | 'console', serverOrigin: string, userId: string): string {
  return `parley-${component}:${serverOrigin}:${userId}`;
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

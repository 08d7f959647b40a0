import type { OutboxEntry } from '../shared/outbox.js';

export type { Delivery, OwnPending } from '../shared/own-messages.js';

/** What the widget keeps in localStorage, per server and user: the open chat and unsent commands. */
export interface SavedChat {
  readonly sessionId?: string | undefined;
  readonly outbox: OutboxEntry[];
}

/** The localStorage key of a user of a server: one person's chat is not another's. */
export function storageKey(serverOrigin: string, userId: string): string {
  return `parley-chat:${serverOrigin}:${userId}`;
}

export function loadChat(storage: Pick<Storage, 'getItem'>, key: string): SavedChat {
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

export function saveChat(storage: Pick<Storage, 'setItem' | 'removeItem'>, key: string, chat: SavedChat): void {
  try {
    if (!chat.sessionId && chat.outbox.length === 0) storage.removeItem(key);
    else storage.setItem(key, JSON.stringify(chat));
  } catch {
    // Storage full or denied (private mode): the chat goes on, it just will not survive a reload.
  }
}

import { serverUrl } from './http-api.js';
import type { OutboxEntry } from './outbox.js';
import { ChatStore, loadChat, pageStorage, saveChat, storageKey } from './saved-chat.js';

const S = '7d1d1a8e-3b0e-4b6e-9a51-0f1b8c2d4e6f';
const memory = () => {
  const items = new Map<string, string>();
  return { getItem: (key: string) => items.get(key) ?? null, setItem: (key: string, value: string) => void items.set(key, value), removeItem: (key: string) => void items.delete(key), items };
};
const entry = (id: string, createdAt: number, state: OutboxEntry['state'] = 'queued'): OutboxEntry =>
  ({ id, destination: `/app/chat/${S}/messages`, body: { messageId: id, body: `text ${id}` }, state, attempts: 0, createdAt });

describe('what the components keep in localStorage', () => {
  it('keeps one chat per server and user, and forgets it when nothing is left to keep', () => {
    const storage = memory();
    const server = serverUrl('https://chat.example.com');
    const key = storageKey('chat', server, 'customer-1');
    expect(key).toBe('parley-chat:https://chat.example.com:customer-1'); // as saved by earlier releases
    expect(key).not.toBe(storageKey('chat', server, 'customer-2'));
    expect(key).not.toBe(storageKey('console', server, 'customer-1'));

    saveChat(storage, key, { sessionId: S, outbox: [entry('m1', 1)], seenRevision: 7 });
    expect(loadChat(storage, key)).toEqual({ sessionId: S, outbox: [entry('m1', 1)], seenRevision: 7 });
    saveChat(storage, key, { sessionId: undefined, outbox: [] });
    expect(storage.items.size).toBe(0);
    expect(loadChat(storage, key)).toEqual({ sessionId: undefined, outbox: [] });
  });

  it('keeps apart the chats of two servers under paths of one origin; a server at the root under the key it always had', () => {
    const keys = (component: 'chat' | 'console', server: string) => storageKey(component, serverUrl(server), 'customer-1');
    for (const component of ['chat', 'console'] as const) {
      expect(keys(component, 'https://example.com/')).toBe(`parley-${component}:https://example.com:customer-1`);
      expect(keys(component, 'https://example.com:8443')).toBe(`parley-${component}:https://example.com:8443:customer-1`);
      const [support, sales] = [keys(component, 'https://example.com/support/chat'), keys(component, 'https://example.com/sales/chat')];
      expect(new Set([keys(component, 'https://example.com'), support, sales]).size).toBe(3);
      expect(support).toBe(`parley-${component}:https://example.com/support/chat:customer-1`);
      // The same server, however its attribute is written.
      expect(keys(component, 'https://EXAMPLE.com/support/chat/?lang=fr')).toBe(support);
    }
  });

  it('reads a corrupt saved chat as none', () => {
    const storage = memory();
    storage.setItem('k', '{not json');
    expect(loadChat(storage, 'k')).toEqual({ outbox: [] });
  });

  it('goes on without storage where the browser denies it, as reading localStorage then throws', () => {
    const described = Object.getOwnPropertyDescriptor(globalThis, 'localStorage');
    Object.defineProperty(globalThis, 'localStorage', { configurable: true, get: () => { throw new DOMException('denied', 'SecurityError'); } });
    try {
      expect(pageStorage()).toBeUndefined();
      expect(loadChat(pageStorage(), 'k')).toEqual({ outbox: [] });
      expect(() => saveChat(pageStorage(), 'k', { sessionId: S, outbox: [] })).not.toThrow();
    } finally {
      if (described) Object.defineProperty(globalThis, 'localStorage', described);
      else delete (globalThis as { localStorage?: unknown }).localStorage;
    }
  });

  it("keeps, in each tab's saves, the unsent entries of another tab of the same user, and brings back none it had itself", () => {
    const storage = memory();
    const [first, second] = [new ChatStore('k', () => storage), new ChatStore('k', () => storage)];
    first.load();
    second.load();
    first.save({ sessionId: S, outbox: [entry('m1', 1)] }); // written offline; then the tab is closed
    second.save({ sessionId: S, outbox: [entry('m2', 2)] });
    expect(loadChat(storage, 'k').outbox.map((queued) => queued.id)).toEqual(['m2', 'm1']);

    second.save({ sessionId: S, outbox: [] }); // its own m2 stored
    expect(loadChat(storage, 'k').outbox.map((queued) => queued.id)).toEqual(['m1']);
    const third = new ChatStore('k', () => storage);
    expect(third.load().outbox.map((queued) => queued.id)).toEqual(['m1']); // sent by the next page
    third.save({ sessionId: S, outbox: [] });
    expect(loadChat(storage, 'k').outbox).toEqual([]);
  });

  it("never overwrites nor erases the chat another tab saved, but for a chat this tab takes up or leaves", () => {
    const storage = memory();
    const [idle, chatting] = [new ChatStore('k', () => storage), new ChatStore('k', () => storage)];
    idle.load();
    chatting.load();
    chatting.save({ sessionId: S, outbox: [], seenRevision: 4 });
    idle.save({ sessionId: undefined, outbox: [] }); // its outbox changed (it reconnected)
    expect(loadChat(storage, 'k')).toEqual({ sessionId: S, outbox: [], seenRevision: 4 });

    const other = '0b9f7f52-6a0e-4c39-8d7e-3c1f1f6b2a10';
    idle.save({ sessionId: other, outbox: [], seenRevision: 1 }); // the customer starts a chat in it
    chatting.save({ sessionId: S, outbox: [], seenRevision: 5 }); // still showing its own
    expect(loadChat(storage, 'k')).toEqual({ sessionId: other, outbox: [], seenRevision: 1 });
    chatting.save({ sessionId: undefined, outbox: [] }); // leaves its own: not the one saved
    expect(loadChat(storage, 'k').sessionId).toBe(other);
    idle.save({ sessionId: undefined, outbox: [] }); // leaves the one saved
    expect(storage.items.size).toBe(0);
  });

  it('hands the unsent entries of a tab closed to one tab still open, which takes them up once', () => {
    const storage = memory();
    const [closing, open, late] = [new ChatStore('k', () => storage), new ChatStore('k', () => storage), new ChatStore('k', () => storage)];
    closing.load();
    open.load();
    late.load();
    open.save({ sessionId: S, outbox: [entry('m0', 0)] }); // its own, unsent: not handed over
    closing.save({ sessionId: S, outbox: [entry('m1', 1), entry('m2', 2)] });
    closing.handOver([entry('m1', 1), entry('m2', 2)]);
    expect(loadChat(storage, 'k').handedOver).toEqual(['m1', 'm2']);

    const taken: string[] = [];
    open.takeOver((handed) => taken.push(handed.id) === 1); // its outbox full after the first
    expect(taken).toEqual(['m1', 'm2']);
    open.save({ sessionId: S, outbox: [entry('m0', 0), entry('m1', 1)] });
    expect(loadChat(storage, 'k')).toMatchObject({ outbox: [entry('m0', 0), entry('m1', 1), entry('m2', 2)], handedOver: ['m2'] });
    const takenLate: string[] = [];
    late.takeOver((handed) => takenLate.push(handed.id) > 0);
    expect(takenLate).toEqual(['m2']);
  });

  it("keeps the rating a tab skipped when another tab of the chat saves, until a tab leaves that chat", () => {
    const storage = memory();
    const [skipping, other] = [new ChatStore('k', () => storage), new ChatStore('k', () => storage)];
    skipping.load();
    other.load();
    skipping.save({ sessionId: S, outbox: [], seenRevision: 6, ratingSkipped: true });
    other.save({ sessionId: S, outbox: [], seenRevision: 6 }); // not told of the skip yet
    expect(loadChat(storage, 'k')).toEqual({ sessionId: S, outbox: [], seenRevision: 6, ratingSkipped: true });

    const next = '0b9f7f52-6a0e-4c39-8d7e-3c1f1f6b2a10';
    other.save({ sessionId: next, outbox: [], seenRevision: -1 }); // the customer starts a new chat
    expect(loadChat(storage, 'k')).toEqual({ sessionId: next, outbox: [], seenRevision: -1 });
  });
});

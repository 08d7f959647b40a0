import type { OutboxEntry } from '../shared/outbox.js';
import { pendingLines } from '../shared/own-messages.js';
import { loadChat, pageStorage, saveChat, storageKey } from './chat-widget.model.js';

const S = '7d1d1a8e-3b0e-4b6e-9a51-0f1b8c2d4e6f';
const memory = () => {
  const items = new Map<string, string>();
  return { getItem: (key: string) => items.get(key) ?? null, setItem: (key: string, value: string) => void items.set(key, value), removeItem: (key: string) => void items.delete(key), items };
};
const entry = (id: string, createdAt: number, state: OutboxEntry['state'] = 'queued'): OutboxEntry =>
  ({ id, destination: `/app/chat/${S}/messages`, body: { messageId: id, body: `text ${id}` }, state, attempts: 0, createdAt });

describe('what the widget keeps and shows of its own messages', () => {
  it('keeps one chat per server and user, and forgets it when nothing is left to keep', () => {
    const storage = memory();
    const key = storageKey('https://chat.example.com', 'customer-1');
    expect(key).not.toBe(storageKey('https://chat.example.com', 'customer-2'));

    saveChat(storage, key, { sessionId: S, outbox: [entry('m1', 1)] });
    expect(loadChat(storage, key)).toEqual({ sessionId: S, outbox: [entry('m1', 1)] });
    saveChat(storage, key, { sessionId: undefined, outbox: [] });
    expect(storage.items.size).toBe(0);
    expect(loadChat(storage, key)).toEqual({ sessionId: undefined, outbox: [] });
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

  it('shows unsent messages as queued while offline and sending while online, stored and refused ones too, in the order written', () => {
    const outbox = [entry('m2', 20), entry('m3', 30)];
    const confirmed = [{ messageId: 'm1', body: 'text m1', createdAt: 10 }];
    const failures = [{ messageId: 'm0', body: 'text m0', createdAt: 5, code: 'INVALID_MESSAGE', reason: 'too long' }];

    const offline = pendingLines(outbox, confirmed, failures, S, false, () => false);
    expect(offline.map((line) => [line.messageId, line.delivery])).toEqual([['m0', 'failed'], ['m1', 'stored'], ['m2', 'queued'], ['m3', 'queued']]);
    const online = pendingLines([entry('m2', 20, 'sending'), entry('m3', 30)], [], [], S, true, () => false);
    expect(online.map((line) => line.delivery)).toEqual(['sending', 'sending']);
  });

  it('shows a message refused for now as queued, saying why, until it is sent again', () => {
    const waiting = { ...entry('m1', 10), notBefore: 2_000, refusedWith: 'UNAVAILABLE' };
    expect(pendingLines([waiting], [], [], S, true, () => false)).toEqual([
      expect.objectContaining({ messageId: 'm1', delivery: 'queued', reason: 'The chat service is having trouble; this will be sent again in a moment.' }),
    ]);
  });

  it('leaves out what the conversation holds already, and what belongs to another session', () => {
    const other = { ...entry('x', 1), destination: '/app/chat/another/messages' };
    expect(pendingLines([entry('m1', 1), other], [], [], S, true, (id) => id === 'm1')).toEqual([]);
  });
});

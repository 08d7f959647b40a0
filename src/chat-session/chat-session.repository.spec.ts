import { loadConfig } from '../config.js';
import type { EventStore, ReadStreamOptions, RecordedEvent } from '../event-store/event-store.js';
import { type ChatSessionState, initialState } from './chat-session.decider.js';
import { ChatSessionRepository, type SessionSnapshot } from './chat-session.repository.js';
import { MessageIds } from './message-ids.js';

/** A store whose streams are empty; it counts the reads. */
function emptyStore(): EventStore & { reads: ReadStreamOptions[] } {
  const reads: ReadStreamOptions[] = [];
  return {
    reads,
    readStream: async (_stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> => {
      reads.push(options);
      return [];
    },
  } as unknown as EventStore & { reads: ReadStreamOptions[] };
}

const at = (revision: bigint): SessionSnapshot => ({ state: initialState(), revision, lastHash: `hash-${revision}`, lastOccurredAt: '2026-12-07T22:00:00.000Z' });

/** A session that has `messages` messages, at the revision after them. */
function withMessages(sessionId: string, messages: number): SessionSnapshot {
  const messageIds = Array.from({ length: messages }, (_, i) => `${sessionId}-message-${i}`).reduce((ids, id) => ids.append(id, 0), MessageIds.empty());
  const state: ChatSessionState = { status: 'active', sessionId, customerId: 'c', openedWith: 0, agentId: 'a', messageIds, lastReadIndex: { user: -1, agent: -1 } };
  return { state, revision: BigInt(messages + 1), lastHash: 'hash', lastOccurredAt: '2026-12-07T22:00:00.000Z' };
}

describe('the session repository', () => {
  it('serves a remembered snapshot without reading the store', async () => {
    const store = emptyStore();
    const repository = new ChatSessionRepository(store, loadConfig({}));
    repository.remember('s', at(4n));
    expect(await repository.load('s')).toEqual(at(4n));
    expect(store.reads).toEqual([]);
  });

  it('keeps the later of two snapshots, whichever is recorded last (the write side and the gateway share it)', async () => {
    const store = emptyStore();
    const repository = new ChatSessionRepository(store, loadConfig({}));
    repository.remember('s', at(7n));
    repository.remember('s', at(5n));
    expect((await repository.load('s')).revision).toBe(7n);
    // A fresh load reads only what follows the cached revision.
    expect((await repository.load('s', { fresh: true })).revision).toBe(7n);
    expect(store.reads).toEqual([{ fromRevision: 8n }]);
  });

  it('keeps a thousand sessions of 300 messages each, used in turn, without reading the store', async () => {
    // Sessions that take turns are the worst case of a least-recently-used cache: once they do
    // not all fit, each one read pushes out the next one to be used, and every command reads its
    // session's whole stream (at 1,000 messages a second, the server saturated: bench/NOTES.md).
    const store = emptyStore();
    const repository = new ChatSessionRepository(store, loadConfig({}));
    const sessions = Array.from({ length: 1000 }, (_, i) => `session-${i}`);
    for (const id of sessions) repository.remember(id, withMessages(id, 300));
    for (const id of sessions) expect((await repository.load(id)).revision).toBe(301n);
    expect(store.reads).toEqual([]);
  });

  it('reads a session again once the bound, SESSION_CACHE_MESSAGE_IDS, pushed it out', async () => {
    const store = emptyStore();
    const repository = new ChatSessionRepository(store, loadConfig({ SESSION_CACHE_MESSAGE_IDS: '1000' }));
    for (const id of ['first', 'second', 'third']) repository.remember(id, withMessages(id, 400));
    expect((await repository.load('third')).revision).toBe(401n);
    expect(store.reads).toEqual([]);
    await repository.load('first');
    expect(store.reads).toEqual([{ fromRevision: 0n }]);
  });

  it('keeps no session that does not exist: ids made up by the thousand push out none in use', async () => {
    const store = emptyStore();
    const repository = new ChatSessionRepository(store, loadConfig({ SESSION_CACHE_MESSAGE_IDS: '1000' }));
    repository.remember('in-use', withMessages('in-use', 900));
    for (let i = 0; i < 1000; i++) expect((await repository.load(`made-up-${i}`, { fresh: true })).revision).toBeUndefined();
    expect(repository.usage().entries).toBe(901);

    store.reads.length = 0;
    expect((await repository.load('in-use')).revision).toBe(901n);
    expect(store.reads).toEqual([]);
  });

  it('forgets a session once it is closed: the commands after the close read the store', async () => {
    const store = emptyStore();
    const repository = new ChatSessionRepository(store, loadConfig({}));
    repository.remember('s', withMessages('s', 3));
    const open = withMessages('s', 3).state as Extract<ChatSessionState, { status: 'active' }>;
    repository.remember('s', { state: { ...open, status: 'closed' }, revision: 5n, lastHash: 'hash', lastOccurredAt: '2026-12-07T22:00:00.000Z' });
    await repository.load('s');
    expect(store.reads).toEqual([{ fromRevision: 0n }]);
  });
});

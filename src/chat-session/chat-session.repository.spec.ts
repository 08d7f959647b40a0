import type { EventStore, ReadStreamOptions, RecordedEvent } from '../event-store/event-store.js';
import { initialState } from './chat-session.decider.js';
import { ChatSessionRepository, type SessionSnapshot } from './chat-session.repository.js';

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

const at = (revision: bigint): SessionSnapshot => ({ state: initialState(), revision, lastHash: `hash-${revision}` });

describe('the session repository', () => {
  it('serves a remembered snapshot without reading the store', async () => {
    const store = emptyStore();
    const repository = new ChatSessionRepository(store);
    repository.remember('s', at(4n));
    expect(await repository.load('s')).toEqual(at(4n));
    expect(store.reads).toEqual([]);
  });

  it('keeps the later of two snapshots, whichever is recorded last (the write side and the gateway share it)', async () => {
    const store = emptyStore();
    const repository = new ChatSessionRepository(store);
    repository.remember('s', at(7n));
    repository.remember('s', at(5n));
    expect((await repository.load('s')).revision).toBe(7n);
    // A fresh load reads only what follows the cached revision.
    expect((await repository.load('s', { fresh: true })).revision).toBe(7n);
    expect(store.reads).toEqual([{ fromRevision: 8n }]);
  });
});

import { randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import { waitFor } from '../../test/processes.js';
import { startStompTestApp, type StompTestApp } from '../../test/stomp-app.js';
import { ChatSessionService } from '../chat-session/chat-session.service.js';

/** `/metrics` of the whole app, on a database of its own, its projection running. */
describe('metrics', () => {
  let server: StompTestApp;
  let url: string;

  beforeAll(async () => {
    server = await startStompTestApp({ SESSION_CACHE_MESSAGE_IDS: '2000' });
    url = `${server.stompUrl.replace(/^ws/, 'http').replace(/\/stomp$/, '')}/metrics`;
  });
  afterAll(() => server.close());

  const metrics = async () => (await fetch(url, { signal: AbortSignal.timeout(5_000) })).text();

  /** `parley_memory_entries` and `parley_memory_capacity`, by memory. */
  async function memories(): Promise<Record<string, { entries: number; capacity: number }>> {
    const text = await metrics();
    const figures: Record<string, { entries: number; capacity: number }> = {};
    for (const [, figure, memory, value] of text.matchAll(/^parley_memory_(entries|capacity)\{memory="([^"]+)"\} (\S+)$/gm)) {
      figures[memory!] ??= { entries: Number.NaN, capacity: Number.NaN };
      figures[memory!]![figure as 'entries' | 'capacity'] = Number(value);
    }
    return figures;
  }

  it('tells how full each bounded memory is, as sessions are opened, written to, projected and closed', async () => {
    await waitFor('the projection leading', async () => 'projection_chat' in (await memories()));
    expect(await memories()).toEqual({
      session_cache: { entries: 0, capacity: 2000 },
      projection_chat: { entries: 0, capacity: 10_000 },
      inbox: { entries: 0, capacity: 10_000 },
    });

    const service = server.app.get(ChatSessionService);
    const sessionId = randomUUID();
    const agent = { id: 'agent-1', role: 'agent', name: 'Ada' } as const;
    await service.submit({ kind: 'open', payload: { sessionId, subject: 'Dent in the bumper' }, actor: { id: 'customer-1', role: 'customer' } });
    await service.submit({ kind: 'join', sessionId, payload: {}, actor: agent });
    for (const body of ['Hello', 'A photo, please']) {
      await service.submit({ kind: 'messages', sessionId, payload: { messageId: randomUUID(), body }, actor: agent });
    }
    // The open session with its two message ids; one session row projected, one told to the inbox.
    const written = await waitFor('the session projected', async () => {
      const figures = await memories();
      return figures.projection_chat?.entries === 1 && figures.inbox?.entries === 1 ? figures : undefined;
    });
    expect(written.session_cache).toEqual({ entries: 3, capacity: 2000 });

    await service.submit({ kind: 'close', sessionId, payload: { reason: 'resolved' }, actor: agent });
    // A closed session leaves the write side's cache; the read side remembers it until pushed out.
    expect(await memories()).toMatchObject({ session_cache: { entries: 0 }, projection_chat: { entries: 1 }, inbox: { entries: 1 } });
  });

  it("leaves the projection's lag out while it cannot be counted, rather than the last figure counted", async () => {
    const lag = /^parley_projection_lag_events\{projection="chat"\} \d+$/m;
    const heldBack = /^parley_projection_held_back\{projection="chat"\} [01]$/m;
    await waitFor('the lag reported', async () => lag.test(await metrics()));
    // Where the checkpoint cannot be read, the lag cannot be counted (the database down, say).
    await server.pool.query(sql.unsafe`ALTER TABLE projection_checkpoints RENAME TO projection_checkpoints_hidden`);
    try {
      const uncounted = await metrics();
      expect(uncounted).not.toMatch(lag);
      expect(uncounted).not.toMatch(heldBack);
      expect(uncounted).toMatch(/^parley_projection_leader\{projection="chat"\} 1$/m); // the rest is there
    } finally {
      await server.pool.query(sql.unsafe`ALTER TABLE projection_checkpoints_hidden RENAME TO projection_checkpoints`);
    }
    const counted = await metrics();
    expect(counted).toMatch(lag);
    expect(counted).toMatch(heldBack);
  });
});

import { webcrypto } from 'node:crypto';
import type { ChatSessionEvent } from '../../src/chat-session/chat-session.events.js';
import { GENESIS_HASH, hashEvent, stampEvents, verifyChain as serverVerifyChain } from '../../src/chat-session/hash-chain.js';
import { verifyChain } from './hash-chain.js';
import type { AuditedEvent } from './protocol.js';

// The browser's chain is checked against the server's own: the events are stamped by the server's
// `stampEvents`, and each verdict must be the server's `verifyChain` verdict on the same events.
const subtle = webcrypto.subtle as SubtleCrypto;
const sessionId = '0b5c4e59-6b53-4a0e-9d7e-2f7d3c1a9e01';
const occurredAt = '2025-03-01T10:15:30.000Z';

const events: ChatSessionEvent[] = [
  { type: 'ChatSessionOpened', data: { sessionId, customerId: 'customer-ada', subject: 'Flat tyre, “Zürich” 🚗' } },
  { type: 'AgentJoined', data: { sessionId, agentId: 'agent-ann', agentName: 'Ann' } },
  {
    type: 'ChatMessageSent',
    data: { sessionId, messageId: '7a0d6c2e-1111-4c5e-8f00-000000000001', senderId: 'agent-ann', senderType: 'agent', body: 'Hi\nthere' },
  },
  { type: 'ChatSessionClosed', data: { sessionId, closedBy: 'customer-ada' } },
];

/** The events as `GET …/events` returns them, stored at revisions 0, 1, 2… */
function history(): AuditedEvent[] {
  const stamped = stampEvents(events, {
    prevHash: GENESIS_HASH,
    occurredAt,
    actor: { id: 'customer-ada', role: 'customer' },
    correlationId: 'correlation-1',
    causationId: 'command-1',
    eventIds: events.map((_, index) => `e${index}`),
  });
  return stamped.map(({ eventId, type, data, metadata }, revision) => ({
    revision,
    position: String(100 + revision),
    eventId,
    type,
    data: data as AuditedEvent['data'],
    metadata,
    recordedAt: occurredAt,
  }));
}

/** The browser's verdict, having checked that the server's is the same. */
async function verdictOf(audited: AuditedEvent[]) {
  const verdict = await verifyChain(audited, subtle);
  expect(verdict).toStrictEqual(serverVerifyChain(audited as never));
  return verdict;
}

const editedAt = (revision: number, edit: (event: AuditedEvent) => AuditedEvent) =>
  history().map((event) => (event.revision === revision ? edit(event) : event));

describe('the hash chain recomputed in the browser', () => {
  it('holds over a history as the server stamped it, and over none', async () => {
    expect(await verdictOf(history())).toStrictEqual({ ok: true });
    expect(await verdictOf([])).toStrictEqual({ ok: true });
  });

  it('does not depend on the order of the keys the data arrived with', async () => {
    const reordered = editedAt(2, (event) => ({ ...event, data: Object.fromEntries(Object.entries(event.data).reverse()) }));
    expect(await verdictOf(reordered)).toStrictEqual({ ok: true });
  });

  it('breaks at an event whose data was altered', async () => {
    const altered = editedAt(2, (event) => ({ ...event, data: { ...event.data, body: 'Bye' } }));
    expect(await verdictOf(altered)).toStrictEqual({ ok: false, brokenAtRevision: 2 });
  });

  it('breaks at an event whose time or type was altered', async () => {
    const retimed = editedAt(1, (event) => ({ ...event, metadata: { ...event.metadata, occurredAt: '2025-03-01T10:15:31.000Z' } }));
    expect(await verdictOf(retimed)).toStrictEqual({ ok: false, brokenAtRevision: 1 });
    expect(await verdictOf(editedAt(3, (event) => ({ ...event, type: 'ChatSessionRated' })))).toStrictEqual({ ok: false, brokenAtRevision: 3 });
  });

  it('breaks at an event linked to another previous hash, even with its own hash recomputed to match', async () => {
    const relinked = editedAt(2, (event) => {
      const prevHash = 'f'.repeat(64);
      return { ...event, metadata: { ...event.metadata, prevHash, hash: hashEvent(prevHash, event.type, event.data, occurredAt) } };
    });
    expect(await verdictOf(relinked)).toStrictEqual({ ok: false, brokenAtRevision: 2 });
  });

  it('breaks where events were moved: the first one there does not start from 64 zeros', async () => {
    const [first, second, ...rest] = history();
    expect(await verdictOf([second!, first!, ...rest])).toStrictEqual({ ok: false, brokenAtRevision: 0 });
  });

  it('breaks where a history lacks a revision, named as the missing one, as the server does', async () => {
    const withoutRevision1 = history().filter((event) => event.revision !== 1);
    expect(withoutRevision1.map((event) => event.revision)).toEqual([0, 2, 3]);
    expect(await verdictOf(withoutRevision1)).toStrictEqual({ ok: false, brokenAtRevision: 1 });
  });

  it('breaks at stored data that has no canonical JSON form', async () => {
    const unencodable = editedAt(0, (event) => ({ ...event, data: { ...event.data, subject: '\ud800' } }));
    expect(await verdictOf(unencodable)).toStrictEqual({ ok: false, brokenAtRevision: 0 });
  });

  it('breaks at an event that has no hash metadata', async () => {
    const bare = editedAt(1, (event) => ({ ...event, metadata: { occurredAt } }));
    expect(await verdictOf(bare)).toStrictEqual({ ok: false, brokenAtRevision: 1 });
  });
});

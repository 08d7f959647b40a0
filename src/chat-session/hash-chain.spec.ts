import { createHash } from 'node:crypto';
import type { ChatSessionEvent } from './chat-session.events.js';
import { GENESIS_HASH, hashEvent, stampEvents, verifyChain, type StampContext } from './hash-chain.js';

const sessionId = '0b5c4e59-6b53-4a0e-9d7e-2f7d3c1a9e01';
const occurredAt = '2025-03-01T10:15:30.000Z';

const events: ChatSessionEvent[] = [
  { type: 'ChatSessionOpened', data: { sessionId, customerId: 'customer-ada', subject: 'Flat tyre' } },
  { type: 'AgentJoined', data: { sessionId, agentId: 'agent-ann', agentName: 'Ann' } },
  {
    type: 'ChatMessageSent',
    data: { sessionId, messageId: '7a0d6c2e-1111-4c5e-8f00-000000000001', senderId: 'agent-ann', senderType: 'agent', body: 'Hi' },
  },
];

const context = (eventIds: string[], prevHash = GENESIS_HASH): StampContext => ({
  prevHash,
  occurredAt,
  actor: { id: 'customer-ada', role: 'customer' },
  correlationId: 'correlation-1',
  causationId: 'command-1',
  eventIds,
});

describe('hashEvent', () => {
  it('starts every chain from 64 zeros', () => expect(GENESIS_HASH).toBe('0'.repeat(64)));

  it('hashes the previous hash, the type, the RFC 8785 JSON of the data and the time', () => {
    const data = { z: 1, a: { y: 'é', b: [2, 1], x: null }, m: 'line\nbreak' };
    const canonical = '{"a":{"b":[2,1],"x":null,"y":"é"},"m":"line\\nbreak","z":1}';
    const prevHash = 'ab'.repeat(32);
    const expected = createHash('sha256')
      .update(`${prevHash}ChatMessageSent${canonical}${occurredAt}`, 'utf8')
      .digest('hex');

    expect(hashEvent(prevHash, 'ChatMessageSent', data, occurredAt)).toBe(expected);
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
  });

  it('does not depend on the order of keys', () => {
    const one = hashEvent(GENESIS_HASH, 'T', { b: 1, a: { d: 2, c: 3 } }, occurredAt);
    const other = hashEvent(GENESIS_HASH, 'T', { a: { c: 3, d: 2 }, b: 1 }, occurredAt);
    expect(one).toBe(other);
  });
});

describe('stampEvents', () => {
  it('chains the hashes and fills the metadata', () => {
    const stamped = stampEvents(events, context(['e1', 'e2', 'e3']));

    expect(stamped.map(({ eventId, metadata }) => [eventId, metadata.eventId, metadata.causationId])).toStrictEqual([
      ['e1', 'e1', 'command-1'],
      ['e2', 'e2', 'command-1'],
      ['e3', 'e3', 'command-1'],
    ]);
    expect(stamped[0]?.metadata.prevHash).toBe(GENESIS_HASH);
    expect(stamped[1]?.metadata.prevHash).toBe(stamped[0]?.metadata.hash);
    expect(stamped[0]?.metadata).toMatchObject({
      occurredAt,
      actor: { id: 'customer-ada', role: 'customer' },
      correlationId: 'correlation-1',
      hash: hashEvent(GENESIS_HASH, 'ChatSessionOpened', events[0]?.data, occurredAt),
    });
    expect(stamped.map(({ type, data }) => ({ type, data }))).toStrictEqual(events);
  });

  it('continues a stream from its last hash', () => {
    const first = stampEvents(events.slice(0, 1), context(['e1']));
    const rest = stampEvents(events.slice(1), context(['e2', 'e3'], first[0]?.metadata.hash));
    expect(verifyChain([...first, ...rest])).toStrictEqual({ ok: true });
  });

  it('needs one id per event', () => {
    expect(() => stampEvents(events, context(['e1', 'e2']))).toThrow('3 events need as many ids, got 2');
  });
});

describe('verifyChain', () => {
  const chain = () => stampEvents(events, context(['e1', 'e2', 'e3']));

  it('accepts an untouched chain of 3, and an empty one', () => {
    expect(verifyChain(chain())).toStrictEqual({ ok: true });
    expect(verifyChain([])).toStrictEqual({ ok: true });
  });

  it('finds altered data at its revision', () => {
    const tampered = chain().map((event, revision) =>
      revision === 1 ? { ...event, data: { ...event.data, agentName: 'Mallory' } } : event,
    );
    expect(verifyChain(tampered)).toStrictEqual({ ok: false, brokenAtRevision: 1 });
  });

  it('finds an altered time at its revision', () => {
    const tampered = chain().map((event, revision) =>
      revision === 2 ? { ...event, metadata: { ...event.metadata, occurredAt: '2025-03-01T10:15:31.000Z' } } : event,
    );
    expect(verifyChain(tampered)).toStrictEqual({ ok: false, brokenAtRevision: 2 });
  });

  it('finds a broken link even when the hash was recomputed to match', () => {
    const tampered = chain().map((event, revision) => {
      if (revision !== 2) return event;
      const prevHash = 'f'.repeat(64);
      const hash = hashEvent(prevHash, event.type, event.data, event.metadata.occurredAt);
      return { ...event, metadata: { ...event.metadata, prevHash, hash } };
    });
    expect(verifyChain(tampered)).toStrictEqual({ ok: false, brokenAtRevision: 2 });
  });

  it('finds a removed first event', () => {
    expect(verifyChain(chain().slice(1))).toStrictEqual({ ok: false, brokenAtRevision: 0 });
  });

  it('finds stored data that has no canonical JSON form', () => {
    const tampered = chain().map((event, revision) =>
      revision === 0 ? { ...event, data: { ...event.data, subject: '\ud800' } } : event,
    );
    expect(verifyChain(tampered)).toStrictEqual({ ok: false, brokenAtRevision: 0 });
  });
});

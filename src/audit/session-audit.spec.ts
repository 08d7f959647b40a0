import type { ChatSessionEvent } from '../chat-session/chat-session.events.js';
import { GENESIS_HASH, stampEvents } from '../chat-session/hash-chain.js';
import { type AuditedEvent, HistoryBroken, historyAsCsv, PointOutOfRange, sessionAt, verifySession } from './session-audit.js';

const sessionId = '5d0f3f9e-2a57-4b8e-9a43-0d5e1c1f2a10';
const m1 = '0b8e4b0e-5c1e-4d37-9d55-8d8a3f1b2c01';
const m2 = '0b8e4b0e-5c1e-4d37-9d55-8d8a3f1b2c02';

/** A stored history, chained: each event stamped at 09:00 and its minute (by default, its revision). */
function history(events: ChatSessionEvent[], minutes = events.map((_, revision) => revision)): AuditedEvent[] {
  let prevHash = GENESIS_HASH;
  return events.map((event, revision) => {
    const [stamped] = stampEvents([event], {
      prevHash,
      occurredAt: new Date(Date.UTC(2026, 10, 24, 9, minutes[revision]!)).toISOString(),
      actor: { id: 'someone', role: 'customer' },
      correlationId: `corr-${revision}`,
      causationId: `cmd-${revision}`,
      eventIds: [`00000000-0000-4000-8000-00000000000${revision}`],
    });
    prevHash = stamped!.metadata.hash;
    return {
      revision, position: String(100 + revision), eventId: stamped!.eventId, type: stamped!.type,
      data: stamped!.data, metadata: stamped!.metadata, recordedAt: stamped!.metadata.occurredAt,
    };
  });
}

const conversation = history([
  { type: 'ChatSessionOpened', data: { sessionId, customerId: 'customer-1', subject: 'Flat tyre' } },
  { type: 'AgentJoined', data: { sessionId, agentId: 'agent-1', agentName: 'Ada' } },
  { type: 'ChatMessageSent', data: { sessionId, messageId: m1, senderId: 'customer-1', senderType: 'user', body: '=HYPERLINK("http://evil")' } },
  { type: 'ChatMessageSent', data: { sessionId, messageId: m2, senderId: 'agent-1', senderType: 'agent', body: 'On its way, "soon"' } },
  { type: 'ChatSessionClosed', data: { sessionId, closedBy: 'agent-1' } },
  { type: 'ChatSessionRated', data: { sessionId, rating: 4, comment: 'quick' } },
]);

describe('the session as it was', () => {
  it('at a revision: status, participants and transcript up to it', () => {
    expect(sessionAt(sessionId, conversation, { revision: 2 })).toEqual({
      sessionId, revision: 2, status: 'active', customerId: 'customer-1', agentId: 'agent-1', rating: null,
      transcript: [{ messageId: m1, senderType: 'user', senderId: 'customer-1', body: '=HYPERLINK("http://evil")', sentAt: '2026-11-24T09:02:00.000Z' }],
    });
  });

  it('at an instant: the events that occurred at or before it', () => {
    expect(sessionAt(sessionId, conversation, { at: new Date('2026-11-24T09:01:00Z') })).toMatchObject({ revision: 1, status: 'active' });
    expect(sessionAt(sessionId, conversation, { at: new Date('2026-11-24T09:00:59Z') })).toMatchObject({ revision: 0, status: 'waiting', agentId: null });
  });

  it('at an instant: never an event that occurred after it, though a later revision occurred before it', () => {
    // Revision 3 was decided at 09:02, before revision 2 (09:03), and appended after it: its
    // command lost the race for the stream and was decided again, keeping its time.
    const raced = history(conversation.slice(0, 4).map(({ type, data }) => ({ type, data }) as ChatSessionEvent), [0, 1, 3, 2]);
    expect(sessionAt(sessionId, raced, { at: new Date('2026-11-24T09:02:30Z') })).toMatchObject({ revision: 1, transcript: [] });
    expect(sessionAt(sessionId, raced, { at: new Date('2026-11-24T09:03:00Z') })).toMatchObject({ revision: 3 });
  });

  it('now, with its rating, when no point is given', () => {
    expect(sessionAt(sessionId, conversation, {})).toMatchObject({ revision: 5, status: 'closed', rating: { rating: 4, comment: 'quick' } });
    expect(sessionAt(sessionId, conversation, {}).transcript).toHaveLength(2);
  });

  it('refuses a revision past the last and an instant before the first event, naming the bound', () => {
    expect(() => sessionAt(sessionId, conversation, { revision: 6 })).toThrow(new PointOutOfRange('revision must be from 0 to 5'));
    expect(() => sessionAt(sessionId, conversation, { at: new Date('2026-11-24T08:59:59Z') })).toThrow(PointOutOfRange);
  });

  it('refuses to replay a stored history that lacks a revision, rather than tell a state it never had', () => {
    const withoutTheAgent = conversation.filter((event) => event.revision !== 1);
    expect(() => sessionAt(sessionId, withoutTheAgent, {})).toThrow(
      new HistoryBroken(`the stored history of session ${sessionId} lacks revision 1: it cannot be replayed (see …/verify)`),
    );
    expect(verifySession(withoutTheAgent)).toEqual({ ok: false, brokenAtRevision: 1 });
    const withoutTheOpening = conversation.slice(1);
    expect(() => sessionAt(sessionId, withoutTheOpening, {})).toThrow(HistoryBroken);
  });
});

describe('hash chain verification', () => {
  it('holds for the history as stored', () => {
    expect(verifySession(conversation)).toEqual({ ok: true });
  });

  it('names the first revision whose data was changed', () => {
    const tampered = conversation.map((event) =>
      event.revision === 3 ? { ...event, data: { ...(event.data as object), body: 'Nothing happened' } } : event);
    expect(verifySession(tampered)).toEqual({ ok: false, brokenAtRevision: 3 });
  });
});

describe('CSV export', () => {
  const csv = historyAsCsv(conversation);
  const rows = csv.trimEnd().split('\r\n');

  it('has a header and one line per event', () => {
    expect(rows[0]).toBe('revision,position,event_id,type,occurred_at,actor_id,actor_role,correlation_id,causation_id,prev_hash,hash,data');
    expect(rows).toHaveLength(conversation.length + 1);
  });

  it('quotes fields with commas and quotes, and defuses fields a spreadsheet would run as formulas', () => {
    expect(rows[4]).toContain('"{""sessionId"":');
    const formula = historyAsCsv([{ ...conversation[0]!, metadata: { ...conversation[0]!.metadata, correlationId: '=1+2', causationId: '@SUM(A1)' } }]);
    expect(formula).toContain(",'=1+2,'@SUM(A1),");
    const minus = historyAsCsv([{ ...conversation[0]!, metadata: { ...conversation[0]!.metadata, actor: { id: '-2+3', role: '+x' } } }]);
    expect(minus).toContain(",'-2+3,'+x,");
  });
});

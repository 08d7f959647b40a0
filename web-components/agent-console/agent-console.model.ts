import type { SessionEventMessage, SessionStatus, SessionView } from '../shared/protocol.js';
import { firstCodePoints } from '../shared/text.js';

/** A session as the inbox lists it. */
export interface InboxItem {
  readonly sessionId: string;
  readonly subject: string;
  readonly customerId: string;
  readonly agentId: string | null;
  readonly agentName?: string;
  readonly status: SessionStatus;
  readonly startTime: string;
  readonly lastMessageAt: string | null;
  readonly lastMessagePreview: string | null;
  /** Customer messages no agent has read. */
  readonly unread: number;
  readonly rating: number | null;
  /** The last revision this item reflects: older news is ignored. */
  readonly revision: number;
}

export type Inbox = Readonly<Record<string, InboxItem>>;

export function itemOfView(view: SessionView): InboxItem {
  return {
    sessionId: view.sessionId,
    subject: view.subject ?? '(no subject)',
    customerId: view.userId,
    agentId: view.agentId,
    ...(view.agentName === null ? {} : { agentName: view.agentName }),
    status: view.status,
    startTime: view.startTime,
    lastMessageAt: view.lastMessageAt,
    lastMessagePreview: view.lastMessagePreview,
    unread: view.unreadForAgent,
    rating: view.rating,
    revision: view.revision,
  };
}

/**
 * The inbox with a session as `GET /api/sessions` shows it, unless the inbox knows newer; with
 * `recount`, also when it knows that same revision (its unread count may be wrong: {@link skipsRevisions}).
 */
export function mergeView(inbox: Inbox, view: SessionView, { recount = false } = {}): Inbox {
  const known = inbox[view.sessionId];
  if (known && (recount ? known.revision > view.revision : known.revision >= view.revision)) return inbox;
  const item = itemOfView(view);
  // A row projected before the server kept agents' names has none: the name heard live stays, the agent's own.
  const agentName = item.agentName ?? (known?.agentId === view.agentId ? known?.agentName : undefined);
  return { ...inbox, [view.sessionId]: agentName === undefined ? item : { ...item, agentName } };
}

/**
 * Whether `event` comes after revisions of its session the inbox was not told of: read receipts,
 * which `/topic/inbox` does not carry (DESIGN.md), or news missed. The session's unread count
 * may then be wrong (another agent read the messages it counts): read the session again.
 */
export function skipsRevisions(inbox: Inbox, event: SessionEventMessage): boolean {
  const item = inbox[event.sessionId];
  return item !== undefined && event.revision > item.revision + 1;
}

/**
 * The inbox after a `/topic/inbox` event; `unknown` when the event is about a session it does
 * not hold (one of the closed chats older than those listed, or past a list's bound): fetch that session.
 */
export function applyInboxEvent(inbox: Inbox, event: SessionEventMessage): Inbox | 'unknown' {
  const { data } = event;
  if (event.type === 'ChatSessionOpened') {
    if (inbox[event.sessionId]) return inbox;
    const item: InboxItem = {
      sessionId: event.sessionId,
      subject: String(data.subject ?? '(no subject)'),
      customerId: String(data.customerId ?? ''),
      agentId: null,
      status: 'waiting',
      startTime: event.occurredAt,
      lastMessageAt: null,
      lastMessagePreview: null,
      unread: 0,
      rating: null,
      revision: event.revision,
    };
    return { ...inbox, [event.sessionId]: item };
  }
  const item = inbox[event.sessionId];
  if (!item) return 'unknown';
  if (event.revision <= item.revision) return inbox;
  const next = { ...item, revision: event.revision };
  switch (event.type) {
    case 'AgentJoined':
      return { ...inbox, [item.sessionId]: { ...next, status: 'active', agentId: String(data.agentId), agentName: String(data.agentName) } };
    case 'AgentLeft': {
      const { agentName: _left, ...rest } = next;
      return { ...inbox, [item.sessionId]: { ...rest, status: 'waiting', agentId: null } };
    }
    case 'ChatMessageSent':
      return {
        ...inbox,
        [item.sessionId]: {
          ...next,
          lastMessageAt: event.occurredAt,
          lastMessagePreview: previewOf(String(data.body ?? '')),
          unread: data.senderType === 'user' ? item.unread + 1 : item.unread,
        },
      };
    case 'ChatSessionClosed':
      return { ...inbox, [item.sessionId]: { ...next, status: 'closed' } };
    case 'ChatSessionRated':
      return { ...inbox, [item.sessionId]: { ...next, rating: Number(data.rating) } };
    default:
      return { ...inbox, [item.sessionId]: next };
  }
}

/**
 * A message's preview as the server stores it in `lastMessagePreview`
 * (read-models/chat-sessions.projector.ts): white space runs become one space, and the first
 * 120 code points are kept. The same rule, so that the list read after a reload shows the same text.
 */
export function previewOf(body: string): string {
  return firstCodePoints(body.replace(/\s+/g, ' '), 120);
}

/** The inbox in three lists: waiting (oldest first: who waited longest), active (mine first), closed (latest first). */
export function sections(inbox: Inbox, me: string): Record<SessionStatus, InboxItem[]> {
  const items = Object.values(inbox);
  const latest = (item: InboxItem) => item.lastMessageAt ?? item.startTime;
  return {
    waiting: items.filter((item) => item.status === 'waiting').sort((a, b) => a.startTime.localeCompare(b.startTime)),
    active: items
      .filter((item) => item.status === 'active')
      .sort((a, b) => Number(b.agentId === me) - Number(a.agentId === me) || latest(b).localeCompare(latest(a))),
    closed: items.filter((item) => item.status === 'closed').sort((a, b) => latest(b).localeCompare(latest(a))).slice(0, 30),
  };
}

/**
 * What waits besides the chat `shown`: the chats waiting for an agent, and the customer messages
 * unread in `me`'s other active chats (another agent's are that agent's to read).
 */
export function besides(inbox: Inbox, me: string, shown: string | undefined): { waiting: number; unread: number } {
  const others = Object.values(inbox).filter((item) => item.sessionId !== shown);
  return {
    waiting: others.filter((item) => item.status === 'waiting').length,
    unread: others.filter((item) => item.status === 'active' && item.agentId === me).reduce((sum, item) => sum + item.unread, 0),
  };
}

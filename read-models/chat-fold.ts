import type { ParticipantType } from '../src/chat-session/chat-session.events.js';
import type { ChatEvent } from './chat-events.js';
import { type MessageRow, type Participants, agentNameIn, lineOf } from './chat-messages.projector.js';
import { type ReadReceipt, type SessionRow, evolveSession, openedSession } from './chat-sessions.projector.js';
import { EventNotApplicable } from './projection.js';

/** A stored text message that a read receipt names: its revision, and how many of each side's messages follow it. */
export interface ReadMessage {
  readonly revision: bigint;
  readonly laterFrom: Readonly<Record<ParticipantType, number>>;
}

/** What the fold of a batch needs of the chat tables as they stand before it. */
export interface StoredChat {
  /** The rows of the batch's sessions; a session without one was never opened. */
  readonly sessions: ReadonlyMap<string, SessionRow>;
  /** The text messages named by the batch's read receipts, by {@link keyOf}(session, message). */
  readonly readMessages: ReadonlyMap<string, ReadMessage>;
  /** The content of the latest join line of each agent who leaves or closes a session in the batch, by {@link keyOf}(session, agent). */
  readonly joinLines: ReadonlyMap<string, string>;
}

/** What a batch writes: the rows of the sessions it changed, and its transcript lines in log order. */
export interface ChatRows {
  readonly sessions: readonly SessionRow[];
  readonly lines: readonly MessageRow[];
}

/** The key of something (a message, an agent) within a session, in the maps of {@link StoredChat}. */
export function keyOf(sessionId: string, id: string): string {
  return `${sessionId} ${id}`;
}

/**
 * Folds a batch of chat events, in log order, into the rows it writes: each session's row as
 * the batch leaves it, and the transcript lines it adds. An event whose revision is not above
 * its session's row has been applied already, and changes nothing.
 * @throws {EventNotApplicable} for the first event in log order that contradicts the rows (a
 * session never opened, or opened twice; a read receipt of a message not in the session).
 */
export function foldChatEvents(events: readonly ChatEvent[], stored: StoredChat): ChatRows {
  const sessions = new Map<string, SessionFold>();
  const lines: MessageRow[] = [];
  for (const event of events) {
    let session = sessions.get(event.sessionId);
    if (session === undefined) sessions.set(event.sessionId, (session = new SessionFold(event.sessionId, stored)));
    const line = session.apply(event);
    if (line !== undefined) lines.push(line);
  }
  return { sessions: [...sessions.values()].flatMap((session) => session.changedRow() ?? []), lines };
}

/** A text line the batch added, as read receipts count it. */
interface TextLine {
  readonly messageId: string;
  readonly senderType: ParticipantType;
}

/** One session through a batch: its row, and the lines the batch has added to it so far. */
class SessionFold {
  private row: SessionRow | undefined;
  private changed = false;
  /** The batch's text lines of the session, in revision order. */
  private readonly texts: TextLine[] = [];
  /** The batch's latest join line of each agent. */
  private readonly joinLines = new Map<string, string>();

  constructor(private readonly sessionId: string, private readonly stored: StoredChat) {
    this.row = stored.sessions.get(sessionId);
  }

  /** The row to write, when the batch changed it. */
  changedRow(): SessionRow | undefined {
    return this.changed ? this.row : undefined;
  }

  /**
   * Folds an event of the session in; the line it adds, if any.
   * @throws {EventNotApplicable} when it contradicts the session.
   */
  apply(event: ChatEvent): MessageRow | undefined {
    const row = this.row;
    if (row !== undefined && event.revision <= row.revision) return undefined;
    this.changed = true;
    if (event.type === 'ChatSessionOpened') {
      if (row !== undefined) throw new EventNotApplicable(event.recorded, `session ${this.sessionId} was opened already, at an earlier revision`);
      this.row = openedSession(event);
      return undefined;
    }
    if (row === undefined) throw new EventNotApplicable(event.recorded, `session ${this.sessionId} was never opened`);
    const line = lineOf(event, this.participants(row));
    this.row = evolveSession(row, event, (receipt) => this.unreadAfter(receipt));
    if (line !== undefined) this.remember(line);
    return line;
  }

  /** The participants as the session stands before the event being folded. */
  private participants(row: SessionRow): Participants {
    return {
      isCustomer: (participantId) => participantId === row.userId,
      agentName: (agentId) => agentNameIn(this.joinLines.get(agentId) ?? this.stored.joinLines.get(keyOf(this.sessionId, agentId)), agentId),
    };
  }

  private remember(line: MessageRow): void {
    if (line.senderType !== 'system') this.texts.push({ messageId: line.messageId, senderType: line.senderType });
    else if (line.messageType === 'join') this.joinLines.set(line.senderId, line.content);
  }

  /**
   * The other side's messages after the one the receipt reads up to: those of the batch so
   * far, and the stored ones when that message is stored.
   * @throws {EventNotApplicable} when that message is not in the session.
   */
  private unreadAfter(receipt: ReadReceipt): number {
    const { readerType, upToMessageId } = receipt.data;
    const otherSide = readerType === 'user' ? 'agent' : 'user';
    const inBatch = this.texts.findIndex((text) => text.messageId === upToMessageId);
    if (inBatch >= 0) return countFrom(this.texts.slice(inBatch + 1), otherSide);
    const stored = this.stored.readMessages.get(keyOf(this.sessionId, upToMessageId));
    if (stored === undefined) throw new EventNotApplicable(receipt.recorded, `message ${upToMessageId} is not in session ${this.sessionId}`);
    return stored.laterFrom[otherSide] + countFrom(this.texts, otherSide);
  }
}

function countFrom(texts: readonly TextLine[], side: ParticipantType): number {
  return texts.reduce((count, text) => (text.senderType === side ? count + 1 : count), 0);
}

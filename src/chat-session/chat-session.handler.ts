import { setTimeout } from 'node:timers/promises';
import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { EVENT_STORE, type EventStore, WrongExpectedVersion } from '../event-store/event-store.js';
import type { ChatSessionCommand } from './chat-session.commands.js';
import { decide } from './chat-session.decider.js';
import { ChatSessionRejected } from './chat-session.errors.js';
import { type Actor, type ChatSessionEvent, streamNameOf } from './chat-session.events.js';
import { advance, ChatSessionRepository, type SessionSnapshot } from './chat-session.repository.js';
import { timeOrderedUuid } from './event-ids.js';
import { type StampedEvent, stampEvents } from './hash-chain.js';
import { OpenSessionLimit } from './open-session-limit.js';

/** Who sends a command, when, and how it relates to what caused it. */
export interface CommandContext {
  readonly actor: Actor;
  readonly commandId: string;
  readonly correlationId: string;
  readonly now: Date;
}

export interface CommandOutcome {
  readonly sessionId: string;
  /** The stream's revision after the command; undefined when the stream does not exist. */
  readonly revision: bigint | undefined;
  /** How many events the command appended: 0 for a repeat of a command already applied. */
  readonly appended: number;
}

/** Appends lost to concurrent writers are retried this many times in all, each on a fresh read. */
export const MAX_ATTEMPTS = 5;

/**
 * Before each retry, a pause drawn at random up to this, doubled at each retry (4, 8, 16, 32 ms).
 * Without it, a node whose append lost to another node's would read and append again in step
 * with the winner's next append, and lose again each time the winner has more to append.
 */
const RETRY_PAUSE_MS = 4;

export class ExecuteChatSessionCommand extends Command<CommandOutcome> {
  constructor(readonly command: ChatSessionCommand, readonly context: CommandContext) {
    super();
  }
}

/**
 * Load, decide, append with the expected revision; on a conflict, again from a fresh read after
 * a short random pause. A refusal or a no-op is decided again on a fresh read too (`decideOnLatest`).
 * Commands for one session run one at a time in this process, so a node never races itself and
 * conflicts come only from other nodes. A session that would be opened (a retried open is not)
 * must first fit in its customer's {@link OpenSessionLimit}.
 * @throws {ChatSessionRejected} when the decider refuses the command.
 * @throws {TooManyOpenSessions} when the customer has the most open sessions already.
 * @throws {WrongExpectedVersion} when every attempt lost to a concurrent writer.
 */
@CommandHandler(ExecuteChatSessionCommand)
export class ExecuteChatSessionCommandHandler implements ICommandHandler<ExecuteChatSessionCommand> {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly sessions: ChatSessionRepository,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly openSessions: OpenSessionLimit,
  ) {}

  execute({ command, context }: ExecuteChatSessionCommand): Promise<CommandOutcome> {
    return this.oneAtATime(command.data.sessionId, () => this.decideAndAppend(command, context));
  }

  private async decideAndAppend(command: ChatSessionCommand, context: CommandContext): Promise<CommandOutcome> {
    const { sessionId } = command.data;
    for (let attempt = 1; ; attempt++) {
      const { current, events } = await this.decideOnLatest(command, attempt > 1);
      if (events.length === 0) return { sessionId, revision: current.revision, appended: 0 };
      if (command.type === 'OpenChatSession') await this.openSessions.admit(command.data.customerId);
      const stamped = stampEvents(events, {
        prevHash: current.lastHash,
        occurredAt: stampTime(context.now, current.lastOccurredAt),
        actor: context.actor,
        correlationId: context.correlationId,
        causationId: context.commandId,
        eventIds: events.map(() => timeOrderedUuid()),
      });
      try {
        const { nextExpectedRevision } = await this.store.appendToStream(streamNameOf(sessionId), stamped, {
          expectedRevision: current.revision ?? 'no_stream',
        });
        this.sessions.remember(sessionId, afterAppend(current, stamped));
        return { sessionId, revision: nextExpectedRevision, appended: stamped.length };
      } catch (error) {
        if (!(error instanceof WrongExpectedVersion) || attempt === MAX_ATTEMPTS) throw error;
        await setTimeout(Math.random() * RETRY_PAUSE_MS * 2 ** (attempt - 1));
      }
    }
  }

  /**
   * Decides on the cached snapshot, which hears of other nodes' appends only when an append of
   * this node's fails. So a refusal or a no-op decided on it is decided again on the stream as it
   * stands (a read of the events after the cached revision, most often none): a customer on one
   * node marks read a message the agent sent through another, say, or an agent joins a session
   * that another node's agent has just left. A snapshot read from the store is decided on once.
   */
  private async decideOnLatest(command: ChatSessionCommand, fresh: boolean): Promise<{ current: SessionSnapshot; events: ChatSessionEvent[] }> {
    const { sessionId } = command.data;
    const fromMemory = !fresh && this.sessions.holds(sessionId);
    const current = await this.sessions.load(sessionId, { fresh });
    if (!fromMemory) return { current, events: decide(command, current.state) };
    try {
      const events = decide(command, current.state);
      if (events.length > 0) return { current, events };
    } catch (error) {
      if (!(error instanceof ChatSessionRejected)) throw error;
    }
    return this.decideOnLatest(command, true);
  }

  private oneAtATime<T>(key: string, work: () => Promise<T>): Promise<T> {
    const result = (this.queues.get(key) ?? Promise.resolve()).then(work);
    const settled = result.then(() => {}, () => {});
    this.queues.set(key, settled);
    void settled.then(() => {
      if (this.queues.get(key) === settled) this.queues.delete(key);
    });
    return result;
  }
}

function afterAppend(snapshot: SessionSnapshot, appended: readonly StampedEvent[]): SessionSnapshot {
  const first = snapshot.revision === undefined ? 0n : snapshot.revision + 1n;
  return appended.reduce((next, event, i) => advance(next, event, first + BigInt(i), event.metadata), snapshot);
}

/**
 * When a command's events happened: when it came in, or when the stream's last event did, if
 * that was later. A command that waited behind another node's append, or came in through a node
 * whose clock is behind, never stamps its events before the revision ahead of them: a stream's
 * times follow its revisions, as an auditor reading it at an instant expects.
 */
function stampTime(now: Date, lastOccurredAt: string | undefined): string {
  return lastOccurredAt !== undefined && Date.parse(lastOccurredAt) > now.getTime() ? lastOccurredAt : now.toISOString();
}

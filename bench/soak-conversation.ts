/**
 * The traffic of `npm run bench -- soak`: conversations between a customer and an agent, each a
 * succession of chat sessions as the web components would drive them over STOMP.
 */
import { randomUUID } from 'node:crypto';
import { Participant, type Side, type SoakContext } from './soak-participant.js';
import { sleep, waitUntil } from './stats.js';

/** Messages per session, uniformly from … to …. */
const SESSION_MESSAGES = [20, 60] as const;
/** Share of sessions in which one participant's network drops once and it reconnects with `since-revision`. */
const RECONNECTING_SESSIONS = 0.25;
/** Share of messages a typing indicator precedes. */
const TYPING_SHARE = 0.3;

/**
 * A customer/agent pair, one session after another: the customer (a new visitor each time)
 * connects and opens a session, the agent joins, both watch it; messages go both ways as the
 * open-loop schedule hands them out ({@link trySend}), with typing indicators and read receipts;
 * in a quarter of the sessions one side's network drops once; after 20 to 60 messages one side
 * closes the session, the customer rates it and leaves.
 */
export class Conversation {
  #chatting = false;
  #stopped = false;
  #agent: Participant;
  #customer: Participant | undefined;
  #sessionId = '';
  #sessions = 0;
  #messagesLeft = 0;
  #dropAt = -1;
  #turn: Side = 'customer';
  #finished: () => void = () => {};

  constructor(private readonly index: number, private readonly context: SoakContext) {
    this.#agent = this.#participant('agent', `soak-agent-${index}`);
  }

  /** Whether messages can be handed to it now (false while a session is opened or closed). */
  get chatting(): boolean {
    return this.#chatting;
  }

  /** Runs sessions one after another until {@link stop}. */
  async run(): Promise<void> {
    while (!this.#stopped) {
      try {
        await this.#open();
        await new Promise<void>((resolve) => {
          this.#finished = resolve;
          if (this.#stopped) resolve();
        });
        if (!this.#stopped) await this.#close();
      } catch (error) {
        if (!this.#stopped) this.context.fail(error);
        await this.#reset();
      }
    }
  }

  /** Sends the next message of the schedule, due at `scheduledAt`; false when this conversation cannot now. */
  trySend(scheduledAt: number): boolean {
    const customer = this.#customer;
    if (!this.#chatting || !customer) return false;
    const [first, second] = this.#turn === 'customer' ? [customer, this.#agent] : [this.#agent, customer];
    const sender = first.away ? second : first;
    const recipient = sender === first ? second : first;
    if (sender.away) return false;
    this.#turn = sender.side === 'customer' ? 'agent' : 'customer';
    const messageId = randomUUID();
    this.context.recorder.messageSent(messageId, scheduledAt, recipient, !recipient.away);
    try {
      if (Math.random() < TYPING_SHARE) sender.typing();
      sender.send(`/app/chat/${this.#sessionId}/messages`, { messageId, body: chatter() }, messageId);
    } catch (error) {
      this.context.fail(error); // its socket is gone and it does not know yet: the message counts as lost
    }
    if (--this.#messagesLeft === this.#dropAt) {
      const dropping = Math.random() < 0.5 ? customer : this.#agent;
      dropping.reconnect(1000 + Math.random() * 2000).catch((error: unknown) => {
        if (!this.#stopped) this.context.fail(error);
      });
    }
    if (this.#messagesLeft === 0) {
      this.#chatting = false;
      this.#finished();
    }
    return true;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#chatting = false;
    this.#finished();
    await Promise.all([this.#customer?.close(), this.#agent.close()]);
  }

  #participant(side: Side, userId: string): Participant {
    return new Participant(side, userId, this.context, (participant, event) => {
      if (this.#chatting && !participant.away && participant.readDue()) {
        participant.send(`/app/chat/${this.#sessionId}/read`, { upToMessageId: event.data.messageId });
      }
    });
  }

  async #open(): Promise<void> {
    if (!this.#agent.connected) await this.#agent.connect();
    const customer = this.#participant('customer', `soak-customer-${this.index}-${++this.#sessions}`);
    this.#customer = customer;
    await customer.connect();
    this.#sessionId = randomUUID();
    await customer.request('/app/chat/open', { sessionId: this.#sessionId, subject: 'The car makes a strange noise' });
    await customer.watch(this.#sessionId);
    await this.#agent.request(`/app/chat/${this.#sessionId}/join`, {});
    await this.#agent.watch(this.#sessionId);
    const [least, most] = SESSION_MESSAGES;
    this.#messagesLeft = least + Math.floor(Math.random() * (most - least + 1));
    this.#dropAt = Math.random() < RECONNECTING_SESSIONS ? 1 + Math.floor(Math.random() * (this.#messagesLeft - 1)) : -1;
    this.#chatting = !this.#stopped;
  }

  /**
   * Once every SEND is answered, every message has reached the other side and nobody is away:
   * one side closes, the customer rates and leaves.
   */
  async #close(): Promise<void> {
    const customer = this.#customer!;
    const agent = this.#agent;
    const { recorder } = this.context;
    const settled = (participant: Participant) => participant.idle && !participant.away && !recorder.awaited(participant);
    await waitUntil(() => settled(customer) && settled(agent), 10_000);
    const closer = Math.random() < 0.5 ? customer : agent;
    await closer.request(`/app/chat/${this.#sessionId}/close`, { reason: 'resolved' });
    const rating = 1 + Math.floor(Math.random() * 5);
    await customer.request(`/app/chat/${this.#sessionId}/rating`, rating < 3 ? { rating, comment: 'Took a while.' } : { rating });
    this.context.recorder.interval.sessionsRated++;
    agent.unwatch();
    await customer.close();
    this.#customer = undefined;
  }

  /** After a failure: both sides leave; the agent comes back on a new connection with the next session. */
  async #reset(): Promise<void> {
    this.#chatting = false;
    await Promise.all([this.#customer?.close(), this.#agent.close()]);
    this.#customer = undefined;
    this.#agent = this.#participant('agent', `soak-agent-${this.index}`);
    if (!this.#stopped) await sleep(1000);
  }
}

const WORDS = ['the', 'car', 'pick-up', 'desk', 'keys', 'deposit', 'insurance', 'tomorrow', 'booking', 'airport', 'please', 'thanks', 'fuel', 'scratch'];

/** A chat line of 3 to 30 words. */
function chatter(): string {
  return Array.from({ length: 3 + Math.floor(Math.random() * 28) }, () => WORDS[Math.floor(Math.random() * WORDS.length)]).join(' ');
}

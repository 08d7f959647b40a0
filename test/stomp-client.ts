import { randomUUID } from 'node:crypto';
import { Client, type IFrame, type IMessage, type StompHeaders } from '@stomp/stompjs';
import { WebSocket } from 'ws';
import { waitFor } from './processes.js';

/** Everything a test STOMP client was sent, for assertions; `receipts` holds `receipt-id`s. */
export interface Received {
  readonly messages: IMessage[];
  readonly receipts: Set<string>;
  readonly stompErrors: IFrame[];
  closeCode?: number;
}

/** The body of an event MESSAGE. */
export interface ReceivedEvent {
  readonly type: string;
  readonly sessionId: string;
  readonly revision: number;
  readonly position: number;
  readonly occurredAt: string;
  readonly data: any;
}

/** The outcome of a SEND or SUBSCRIBE: its RECEIPT, or its rejection from `/user/queue/errors`. */
export type Outcome = { readonly ok: true } | { readonly ok: false; readonly code: string; readonly body: { code: string; message: string } };

/**
 * A real `@stomp/stompjs` client over `ws`, as a browser page would use one, recording what it
 * receives. `connectStomp` resolves once CONNECTED arrived, and rejects with the ERROR frame
 * (or the close) when the server refuses it.
 */
export class StompTestClient {
  readonly received: Received = { messages: [], receipts: new Set(), stompErrors: [] };
  #subscriptionIds = new Map<string, string>();

  private constructor(readonly client: Client) {}

  static connect(url: string, token: string | undefined, options: { connectHeaders?: StompHeaders } = {}): Promise<StompTestClient> {
    const client = new Client({
      webSocketFactory: () => new WebSocket(url, ['v12.stomp', 'v11.stomp', 'v10.stomp']),
      connectHeaders: { ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }), ...options.connectHeaders },
      reconnectDelay: 0,
      debug: () => {},
    });
    const test = new StompTestClient(client);
    return new Promise((resolve, reject) => {
      client.onConnect = () => resolve(test);
      client.onStompError = (frame) => {
        test.received.stompErrors.push(frame);
        reject(Object.assign(new Error(`ERROR ${frame.headers.message}: ${frame.body}`), { frame, client: test }));
      };
      client.onWebSocketClose = (event: { code: number }) => {
        test.received.closeCode = event.code;
        reject(new Error(`closed with ${event.code} before CONNECTED`));
      };
      client.onUnhandledReceipt = (frame) => test.received.receipts.add(frame.headers['receipt-id']!);
      client.activate();
    });
  }

  /** Subscribes and waits for the outcome; every MESSAGE of it is recorded. */
  async subscribe(destination: string, headers: StompHeaders = {}): Promise<Outcome> {
    const receipt = randomUUID();
    const subscription = this.client.subscribe(destination, (message) => this.received.messages.push(message), { ...headers, receipt });
    this.#subscriptionIds.set(destination, subscription.id);
    return this.outcome(receipt);
  }

  /** Unsubscribes, and waits for the RECEIPT. */
  async unsubscribe(destination: string): Promise<void> {
    const receipt = randomUUID();
    this.client.unsubscribe(this.#subscriptionIds.get(destination)!, { receipt });
    await waitFor(`RECEIPT ${receipt}`, () => this.received.receipts.has(receipt));
  }

  /** Sends a JSON (or raw string) body with a `receipt` header, and returns the receipt id at once. */
  sendNoWait(destination: string, body: unknown, headers: StompHeaders = {}): string {
    const receipt = randomUUID();
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    this.client.publish({ destination, body: text, headers: { 'content-type': 'application/json', ...headers, receipt } });
    return receipt;
  }

  /** Sends, and waits for its RECEIPT or its rejection. */
  send(destination: string, body: unknown, headers: StompHeaders = {}): Promise<Outcome> {
    return this.outcome(this.sendNoWait(destination, body, headers));
  }

  /** Waits for the RECEIPT of `receipt`, or a rejection that names it. */
  outcome(receipt: string): Promise<Outcome> {
    return waitFor(`RECEIPT or rejection of ${receipt}`, (): Outcome | undefined => {
      if (this.received.receipts.has(receipt)) return { ok: true };
      const rejection = this.errors().find((message) => message.headers['receipt-id'] === receipt);
      if (!rejection) return undefined;
      return { ok: false, code: rejection.headers.code!, body: JSON.parse(rejection.body) };
    }, 15_000);
  }

  /** The MESSAGEs received on `destination`. */
  messagesOn(destination: string): IMessage[] {
    return this.received.messages.filter((message) => message.headers.destination === destination);
  }

  /** The MESSAGEs of `/user/queue/errors`. */
  errors(): IMessage[] {
    return this.messagesOn('/user/queue/errors');
  }

  /** Event MESSAGEs of a destination, as parsed bodies, typing indicators left out. */
  eventsOn(destination: string): ReceivedEvent[] {
    return this.messagesOn(destination)
      .filter((message) => message.headers['event-type'] !== 'Typing')
      .map((message) => JSON.parse(message.body));
  }

  /** Waits until `destination` has received events up to `revision`, and returns them all. */
  async eventsUpTo(destination: string, revision: number): Promise<ReceivedEvent[]> {
    await waitFor(`revision ${revision} on ${destination}`, () => this.eventsOn(destination).some((event) => event.revision >= revision), 15_000);
    return this.eventsOn(destination);
  }

  async disconnect(): Promise<void> {
    await this.client.deactivate();
  }
}

import { randomUUID } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Client, type IMessage, type StompHeaders, type StompSubscription } from '@stomp/stompjs';
import { WebSocket } from 'ws';

/**
 * Makes this process a lighter load generator, for benchmarks whose process only drives clients.
 * V8 sizes a heap's next full collection from how fast it collects: thousands of clients' heap
 * then grows only some 15 – 40 % between two, and a 20 s run has up to six, each about 100 ms of
 * this event loop on the 2-core machines, counted in the figures as if the server were slow.
 * Four times the live heap instead, and a run has none or one. Two flags are set on the `bench`
 * script's command line instead (README, "Benchmarks"): the young generation's size, which V8
 * reads before the heap is made (`--max-semi-space-size=64`), and `--no-memory-reducer`: V8's
 * memory reducer otherwise collects in full, to shrink the heap, 100 s after the last full
 * collection (the one before the measured load), so within any longer run, and the young
 * generation then grows back over some 17 s, scavenging far more often meanwhile.
 */
export function runAsLoadGenerator(): void {
  setFlagsFromString('--heap-growing-percent=300');
}

/**
 * A full garbage collection of this process, now: before a measured window. Its heap grows at
 * the same pace in every run, so without it the collection that the setup and the warm-up made
 * due falls some 11 s into a 20 s run, a core's worth of marking for a quarter of a second and a
 * pause of 10 ms, counted in the figures as if the server were slow.
 */
export function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** A SEND or SUBSCRIBE the server refused: a MESSAGE on `/user/queue/errors` instead of a RECEIPT. */
export class Rejected extends Error {
  constructor(readonly code: string, detail: string) {
    super(`${code}: ${detail}`);
  }
}

/**
 * One `@stomp/stompjs` client as the web components use it (heart-beats 10 s both ways, which
 * the server's `10000,10000` offer agrees to), CONNECTed with a JWT and subscribed to its
 * `/user/queue/errors`. A RECEIPT or a rejection settles the `request` or `subscribe` waiting
 * for it; the others go to `onReceipt` and `onRejection` (open-loop sends).
 */
export class StompPeer {
  onReceipt: (receiptId: string) => void = () => {};
  onRejection: (error: Rejected, receiptId: string | undefined) => void = () => {};
  /** The socket closed while we did not ask for it. */
  onDropped: () => void = () => {};
  readonly #pending = new Map<string, { resolve: () => void; reject: (error: Rejected) => void }>();
  #closing = false;

  private constructor(readonly client: Client) {}

  /**
   * Opens the WebSocket, CONNECTs, and subscribes to `/user/queue/errors`.
   * @throws {Error} when the server sends an ERROR or closes before CONNECTED.
   */
  static async connect(url: string, jwt: string): Promise<StompPeer> {
    const client = new Client({
      webSocketFactory: () => new WebSocket(url, ['v12.stomp']),
      connectHeaders: { Authorization: `Bearer ${jwt}` },
      heartbeatIncoming: 10_000,
      heartbeatOutgoing: 10_000,
      reconnectDelay: 0,
      debug: () => {},
      // Otherwise stompjs formats every frame sent and received into a string for `debug`, even
      // an empty one: garbage that, for 2,000 clients, the load generator must collect.
      logRawCommunication: true,
    });
    const peer = new StompPeer(client);
    try {
      await new Promise<void>((resolve, reject) => {
        client.onConnect = () => resolve();
        client.onStompError = (frame) => reject(new Error(`ERROR ${frame.headers.message}: ${frame.body}`));
        client.onWebSocketClose = () => reject(new Error('closed before CONNECTED'));
        client.activate();
      });
    } catch (error) {
      await client.deactivate({ force: true });
      throw error;
    }
    client.onWebSocketClose = () => {
      peer.#abandon('the connection closed before the answer');
      if (!peer.#closing) peer.onDropped();
    };
    client.onUnhandledReceipt = (frame) => peer.#settle(frame.headers['receipt-id']!, undefined);
    await peer.subscribe('/user/queue/errors', (message) => {
      const receiptId = message.headers['receipt-id'];
      const body = JSON.parse(message.body) as { code: string; message: string };
      peer.#settle(receiptId, new Rejected(body.code, body.message));
    });
    return peer;
  }

  /** A SEND with a `receipt` header, not waited for: its RECEIPT goes to `onReceipt`. */
  send(destination: string, body: unknown, receipt: string = randomUUID()): string {
    this.client.publish({ destination, body: JSON.stringify(body), headers: { receipt } });
    return receipt;
  }

  /**
   * A SEND, waiting for its RECEIPT.
   * @throws {Rejected} when the server refuses it.
   */
  request(destination: string, body: unknown): Promise<void> {
    // Sent first: a client not connected throws here, before anything waits. The RECEIPT
    // cannot come before the next turn of the event loop.
    const receipt = this.send(destination, body);
    return this.#await(receipt);
  }

  /**
   * A SUBSCRIBE, waiting for its RECEIPT.
   * @throws {Rejected} when the server refuses it (`FORBIDDEN`, …).
   */
  async subscribe(destination: string, onMessage: (message: IMessage) => void, headers: StompHeaders = {}): Promise<StompSubscription> {
    const receipt = randomUUID();
    const subscription = this.client.subscribe(destination, onMessage, { ...headers, receipt });
    await this.#await(receipt);
    return subscription;
  }

  /** DISCONNECT (with its RECEIPT) and close; `abruptly`: the socket is just dropped, as a lost network would. */
  async close(abruptly = false): Promise<void> {
    this.#closing = true;
    this.#abandon('the client closed before the answer');
    await this.client.deactivate({ force: abruptly }).catch(() => {});
  }

  /** Rejects every `request` and `subscribe` still waiting, with `CLOSED`. */
  #abandon(detail: string): void {
    for (const { reject } of this.#pending.values()) reject(new Rejected('CLOSED', detail));
    this.#pending.clear();
  }

  #await(receipt: string): Promise<void> {
    return new Promise((resolve, reject) => this.#pending.set(receipt, { resolve, reject }));
  }

  #settle(receiptId: string | undefined, rejection: Rejected | undefined): void {
    const pending = receiptId === undefined ? undefined : this.#pending.get(receiptId);
    if (pending) {
      this.#pending.delete(receiptId!);
      if (rejection) pending.reject(rejection);
      else pending.resolve();
    } else if (rejection) {
      this.onRejection(rejection, receiptId);
    } else {
      this.onReceipt(receiptId!);
    }
  }
}

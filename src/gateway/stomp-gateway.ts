import { type IncomingMessage, type Server as HttpServer, createServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { WsAdapter } from '@nestjs/platform-ws';
import type { WebSocket, WebSocketServer } from 'ws';
import { TokenService } from '../auth/tokens.js';
import { ChatSessionService } from '../chat-session/chat-session.service.js';
import { CONFIG, type Config } from '../config.js';
import { EVENT_STORE, type EventStore } from '../event-store/event-store.js';
import { LiveFeed } from './live-feed.js';
import { selectSubProtocol } from './negotiation.js';
import { MonotonicClock } from './rate-limit.js';
import { SessionAccess } from './session-access.js';
import { eventStoreReader } from './session-events.js';
import { type ConnectionServices, SLOW_CONSUMER, StompConnection } from './stomp-connection.js';
import { type WebSocketRefusal, WebSocketTransport } from './websocket-transport.js';

/** Where the STOMP endpoint listens, on the HTTP server's own port. */
export const STOMP_PATH = '/stomp';

type UpgradeListener = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * `WsAdapter` JSON-parses messages and logs every socket error as an application error; the
 * gateway reads raw frames itself, and a client's broken WebSocket framing is its own business.
 */
class StompWsAdapter extends WsAdapter {
  private readonly ownUpgradeListeners: [HttpServer, UpgradeListener][] = [];

  override bindErrorHandler(server: WebSocketServer): WebSocketServer {
    server.on('connection', (socket: WebSocket) => socket.on('error', (error) => this.logger.debug(`client socket: ${error.message}`)));
    server.on('error', (error) => this.logger.error(error));
    return server;
  }

  /**
   * The adapter takes every upgrade request and destroys those not for a WebSocket path. One that
   * offers another protocol (Java's HttpClient offers h2c by default) is answered as HTTP/1.1
   * instead (RFC 9110, 7.8): its head is given back to the HTTP server without the offer.
   */
  override ensureHttpServerExists(port: number, httpServer?: HttpServer): HttpServer | undefined {
    if (this.httpServersRegistry.has(port)) return undefined;
    const server = httpServer ?? createServer();
    const before = new Set(server.listeners('upgrade'));
    super.ensureHttpServerExists(port, server);
    for (const listener of server.listeners('upgrade') as UpgradeListener[]) {
      if (before.has(listener)) continue;
      const websocketOnly: UpgradeListener = (request, socket, head) => {
        if (request.headers.upgrade?.toLowerCase() === 'websocket') listener(request, socket, head);
        else answerWithoutUpgrade(server, request, socket, head);
      };
      server.off('upgrade', listener).on('upgrade', websocketOnly);
      this.ownUpgradeListeners.push([server, websocketOnly]);
    }
    return server;
  }

  override async dispose(): Promise<void> {
    await super.dispose();
    for (const [server, listener] of this.ownUpgradeListeners.splice(0)) server.off('upgrade', listener);
  }
}

/** Hands an upgrade request's connection back to `server` as if the request offered nothing. */
function answerWithoutUpgrade(server: HttpServer, request: IncomingMessage, socket: Duplex, head: Buffer): void {
  const lines = [`${request.method} ${request.url} HTTP/${request.httpVersion}`];
  const raw = request.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const [field, given] = [raw[i] as string, raw[i + 1] as string];
    const name = field.toLowerCase();
    if (name === 'upgrade' || name === 'http2-settings') continue;
    const value = name === 'connection' ? withoutUpgradeTokens(given) : given;
    if (value !== '') lines.push(`${field}: ${value}`);
  }
  socket.unshift(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), head]));
  server.emit('connection', socket);
}

function withoutUpgradeTokens(connection: string): string {
  return connection.split(',').map((token) => token.trim()).filter((token) => !/^(upgrade|http2-settings)$/i.test(token)).join(', ');
}

/**
 * The STOMP endpoint (DESIGN.md, "STOMP contract"): a `ws` server from `@nestjs/platform-ws`'s
 * adapter, sharing the HTTP server's port at {@link STOMP_PATH}, that hands each socket's raw
 * messages to its {@link StompConnection}.
 *
 * The adapter is driven here rather than through `@WebSocketGateway` and
 * `app.useWebSocketAdapter`: Nest's gateway machinery dispatches JSON events to handlers, which
 * STOMP is not, and an app built without the adapter call (every test app) would exit trying
 * to load socket.io. Built this way, any app of `AppModule` serves `/stomp`.
 */
@Injectable()
export class StompGateway implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('StompGateway');
  private readonly connections = new Set<StompConnection>();
  #slowConsumersDropped = 0;
  private readonly services: ConnectionServices;
  private readonly shutdownGraceMs: number;
  private adapter: StompWsAdapter | undefined;
  private server: WebSocketServer | undefined;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(CONFIG) config: Config,
    @Inject(EVENT_STORE) store: EventStore,
    tokens: TokenService,
    commands: ChatSessionService,
    access: SessionAccess,
    private readonly feed: LiveFeed,
    clock: MonotonicClock,
  ) {
    const settings = config.stomp;
    // A new socket has two heart-beat periods (of the server's offer) to send CONNECT.
    const connectTimeoutMs = settings.heartbeatMs > 0 ? 2 * settings.heartbeatMs : 10_000;
    this.services = { tokens, commands, access, feed, reader: eventStoreReader(store), settings, connectTimeoutMs, clock };
    this.shutdownGraceMs = config.shutdownGraceMs;
  }

  async onApplicationBootstrap(): Promise<void> {
    const httpServer = this.adapterHost.httpAdapter?.getHttpServer() as HttpServer | undefined;
    if (!httpServer) return; // an application context without HTTP: no endpoint to serve
    await this.feed.start();
    this.adapter = new StompWsAdapter(httpServer);
    this.server = this.adapter.create(0, {
      path: STOMP_PATH,
      handleProtocols: selectSubProtocol,
      // Frames over the limit get a STOMP ERROR from the parser; a WebSocket message far beyond
      // it is refused by ws itself before it is buffered (and gets its ERROR from `accept`).
      maxPayload: this.maxPayload,
      perMessageDeflate: false,
    }) as WebSocketServer;
    this.adapter.bindClientConnect(this.server, (socket: WebSocket, request: IncomingMessage) => this.accept(socket, request));
    this.logger.log(`STOMP over WebSocket at ${STOMP_PATH}`);
  }

  /** The largest WebSocket message ws takes, in bytes: four frames of the largest, 1 MiB at least. */
  private get maxPayload(): number {
    return Math.max(4 * this.services.settings.maxFrameBytes, 1024 * 1024);
  }

  /** For `/metrics`: the connections dropped so far for not reading what they were sent. */
  get slowConsumersDropped(): number {
    return this.#slowConsumersDropped;
  }

  /**
   * The server is stopping (`app.close()`: new HTTP requests get 503 by now, and the HTTP server
   * closes once this returns). New WebSockets are refused (503); SENDs are `UNAVAILABLE` from
   * now on; the frames under way finish, their RECEIPTs sent, for at most `SHUTDOWN_GRACE_MS`;
   * then every client gets an ERROR `server shutting down` and its socket is closed, so that it
   * reconnects to another node.
   */
  async beforeApplicationShutdown(): Promise<void> {
    const { adapter, server } = this;
    if (adapter && server) {
      // ws calls back once every client socket is closed (each is cut at most 2 s after its close).
      const allClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      await this.finishFramesUnderWay();
      for (const connection of this.connections) connection.shutdown();
      await allClosed;
      await adapter.dispose();
    }
    await this.feed.stop();
  }

  /** The ERROR's message and body, and the close code, for what ws refused. */
  private violationOf(refusal: WebSocketRefusal): { message: string; detail: string; closeCode: number } {
    switch (refusal) {
      case 'too large': {
        const detail = `a WebSocket message may hold ${this.maxPayload} bytes, a frame ${this.services.settings.maxFrameBytes}`;
        return { message: 'message too large', detail, closeCode: 1009 };
      }
      case 'too many parts':
        return { message: 'message in too many parts', detail: 'a WebSocket message came in more fragments than the server takes', closeCode: 1008 };
      case 'not UTF-8':
        return { message: 'malformed frame', detail: 'a text WebSocket message must be UTF-8', closeCode: 1007 };
      case 'bad framing':
        return { message: 'malformed frame', detail: 'the WebSocket framing is broken (RFC 6455)', closeCode: 1002 };
    }
  }

  /** Waits for every connection's frames under way, at most {@link shutdownGraceMs}. */
  private async finishFramesUnderWay(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'grace over'>((resolve) => {
      timer = setTimeout(() => resolve('grace over'), this.shutdownGraceMs);
    });
    const finished = Promise.all([...this.connections].map((connection) => connection.beginShutdown()));
    const count = this.connections.size;
    this.logger.log(`stopping: ${count} STOMP connection${count === 1 ? '' : 's'} to close once their frames under way are done`);
    if (await Promise.race([finished, graceOver]) === 'grace over') {
      this.logger.warn(`frames still under way after ${this.shutdownGraceMs} ms (SHUTDOWN_GRACE_MS); closing the connections anyway`);
    }
    clearTimeout(timer);
  }

  private accept(socket: WebSocket, request: IncomingMessage): void {
    const transport = new WebSocketTransport(socket, request.socket);
    const connection = new StompConnection(transport, this.services);
    // A protocol violation like any other (DESIGN.md): an ERROR, then the close ws would make.
    transport.onRefusal((refusal) => {
      const { message, detail, closeCode } = this.violationOf(refusal);
      connection.fail(message, detail, undefined, closeCode);
    });
    this.connections.add(connection);
    socket.on('message', (data: Buffer) => connection.receive(data));
    socket.once('close', () => {
      this.connections.delete(connection);
      connection.closed();
      if (connection.failedWith === SLOW_CONSUMER) this.#slowConsumersDropped++;
    });
  }
}

import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { Backoff } from './backoff.js';
import { ChatConnection, type ConnectionStatus, type Refusal } from './chat-connection.js';

const SESSION = '5d0f3f9e-2a57-4b8e-9a43-0d5e1c1f2a10';

/**
 * A STOMP server of a few lines, over `ws`, as the connection sees the real one: CONNECTED to
 * CONNECT, and each SUBSCRIBE to the session refused with the next of `refusals` on the errors
 * queue, or RECEIPTed once they are used up; with `failSends`, each SEND answered as the real one
 * answers a frame it fails on (ERROR `internal error`, close 1011). `@stomp/stompjs` sends one
 * frame a message.
 */
async function fakeServer(refusals: string[], { failSends = false } = {}) {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => server.once('listening', resolve));
  const sessionSubscribes: string[] = [];
  server.on('connection', (socket) => {
    let errorsId = '';
    socket.on('message', (data) => {
      const [head = ''] = data.toString().split('\n\n');
      const [command, ...lines] = head.split('\n');
      const headers = new Map(lines.map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1)]));
      if (command === 'CONNECT') socket.send('CONNECTED\nversion:1.2\nheart-beat:0,0\n\n\0');
      if (command === 'SEND' && failSends) {
        socket.send('ERROR\nmessage:internal error\n\nthe server failed to process the frame\0');
        socket.close(1011);
      }
      if (command !== 'SUBSCRIBE') return;
      if (headers.get('destination') === '/user/queue/errors') errorsId = headers.get('id')!;
      if (headers.get('destination') !== `/topic/chat/${SESSION}`) return;
      sessionSubscribes.push(headers.get('id')!);
      const code = refusals.shift();
      const receipt = headers.get('receipt')!;
      socket.send(code === undefined
        ? `RECEIPT\nreceipt-id:${receipt}\n\n\0`
        : `MESSAGE\nsubscription:${errorsId}\nmessage-id:m-${sessionSubscribes.length}\ndestination:/user/queue/errors\n` +
          `code:${code}\nreceipt-id:${receipt}\ncontent-type:application/json\n\n${JSON.stringify({ code, message: `refused: ${code}` })}\0`);
    });
  });
  return {
    url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    sessionSubscribes,
    close: () => new Promise<void>((resolve) => {
      for (const client of server.clients) client.terminate();
      server.close(() => resolve());
    }),
  };
}

/** Polls `condition` every 10 ms until it holds. @throws after `timeoutMs`. */
async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const webSocket = (globalThis as { WebSocket?: unknown }).WebSocket;
beforeAll(() => {
  (globalThis as { WebSocket?: unknown }).WebSocket = WebSocket; // what a browser has; Node 20 has none
});
afterAll(() => {
  (globalThis as { WebSocket?: unknown }).WebSocket = webSocket;
});

describe("the components' connection, when the server refuses to let it watch a session", () => {
  async function watchThrough(refusals: string[]) {
    const server = await fakeServer(refusals);
    const connection = new ChatConnection({ server: server.url, token: 'a.b.c', heartbeatMs: 0 });
    const refused: Array<{ sessionId: string } & Refusal> = [];
    connection.on('watch-refused', (refusal) => refused.push(refusal));
    connection.watchSession(SESSION);
    connection.start();
    return { server, connection, refused };
  }

  it('subscribes again after a back-off while it is refused for now (UNAVAILABLE), and keeps the session', async () => {
    const { server, connection, refused } = await watchThrough(['UNAVAILABLE', 'RATE_LIMITED']);
    try {
      await until('the third SUBSCRIBE, RECEIPTed', () => server.sessionSubscribes.length === 3);
      expect(connection.isWatching(SESSION)).toBe(true);
      expect(refused).toEqual([]);
    } finally {
      connection.stop();
      await server.close();
    }
  });

  it('stops watching, and says so, when the session is not the user\'s (FORBIDDEN)', async () => {
    const { server, connection, refused } = await watchThrough(['FORBIDDEN']);
    try {
      await until('the refusal', () => refused.length === 1);
      expect(refused).toEqual([{ sessionId: SESSION, code: 'FORBIDDEN', message: 'refused: FORBIDDEN' }]);
      expect(connection.isWatching(SESSION)).toBe(false);
      expect(server.sessionSubscribes).toHaveLength(1);
    } finally {
      connection.stop();
      await server.close();
    }
  });
});

describe("the components' connection, when the server drops it at each command it is sent", () => {
  // A command the server fails on is sent again on each new connection, and fails it again: each
  // connection lasts from its CONNECTED to that SEND, and the next must wait longer, as after any
  // other drop, not half a second for ever (the widget "offline" twice a second, every page that
  // holds the command in its saved outbox hammering the server).
  it('waits longer before each reconnection, though each one was CONNECTED', async () => {
    const server = await fakeServer([], { failSends: true });
    const connection = new ChatConnection({ server: server.url, token: 'a.b.c', heartbeatMs: 0, backoff: new Backoff({ random: () => 0.5 }) });
    const waits: number[] = [];
    connection.on('status', (status: ConnectionStatus) => {
      if (status.state === 'offline') waits.push(status.retryAt - Date.now());
    });
    connection.enqueue('m-1', `/app/chat/${SESSION}/messages`, { messageId: 'm-1', body: 'Hello' });
    connection.start();
    try {
      await until('the third drop', () => waits.length === 3);
      expect(waits[1]).toBeGreaterThan(waits[0]!);
      expect(waits[2]).toBeGreaterThan(waits[1]!);
    } finally {
      connection.stop();
      await server.close();
    }
  });
});

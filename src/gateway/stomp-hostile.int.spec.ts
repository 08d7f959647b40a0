import { randomUUID } from 'node:crypto';
import { WebSocket } from 'ws';
import { waitFor } from '../../test/processes.js';
import { startStompTestApp, type StompTestApp, testToken } from '../../test/stomp-app.js';
import { StompTestClient } from '../../test/stomp-client.js';

/**
 * What the gateway does with clients that break the rules, through raw WebSockets: each gets
 * its answer (an ERROR then the close, or a WebSocket close), while a well-behaved client's
 * chat on the same server goes on. Heart-beats are 200 ms here, to watch them time out.
 */
describe('STOMP gateway under hostile input', () => {
  const HEARTBEAT_MS = 200;
  let server: StompTestApp;
  let customer: StompTestClient;
  let agent: StompTestClient;
  let sessionId: string;
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    // Limits raised: a burst of pipelined opens is how a test here fills a connection's queue.
    server = await startStompTestApp({ STOMP_HEARTBEAT_MS: String(HEARTBEAT_MS), STOMP_SEND_BURST: '1000', MAX_OPEN_SESSIONS_PER_CUSTOMER: '1000' });
    customer = await StompTestClient.connect(server.stompUrl, await testToken(`customer-${randomUUID()}`, 'customer'));
    agent = await StompTestClient.connect(server.stompUrl, await testToken(`agent-${randomUUID()}`, 'agent'));
    sessionId = randomUUID();
    expect(await customer.send('/app/chat/open', { sessionId, subject: 'Keys locked in the car' })).toEqual({ ok: true });
    expect(await agent.send(`/app/chat/${sessionId}/join`, {})).toEqual({ ok: true });
    expect(await agent.subscribe(`/topic/chat/${sessionId}`)).toEqual({ ok: true });
  });
  afterAll(async () => {
    for (const socket of sockets) socket.terminate();
    await customer.disconnect();
    await agent.disconnect();
    await server.close();
  });

  afterEach(async () => {
    // The well-behaved chat is unaffected by whatever the test before did.
    const body = `still here ${randomUUID()}`;
    expect(await customer.send(`/app/chat/${sessionId}/messages`, { messageId: randomUUID(), body })).toEqual({ ok: true });
    await waitFor('the message at the agent', () => agent.eventsOn(`/topic/chat/${sessionId}`).some((event) => event.data.body === body), 15_000);
  });

  /** A raw WebSocket to the endpoint, recording the text it receives and how it closes. */
  async function rawSocket(protocols: string[] = ['v12.stomp']) {
    const socket = new WebSocket(server.stompUrl, protocols);
    sockets.push(socket);
    const received: string[] = [];
    let closedWith: { code: number; reason: string } | undefined;
    socket.on('message', (data) => received.push(data.toString()));
    socket.on('error', () => {}); // a refused frame may fail our own writes; the close says it all
    socket.on('close', (code, reason) => (closedWith = { code, reason: reason.toString() }));
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    return {
      socket,
      received,
      /** Frames received so far (heart-beats left out). */
      frames: () => received.join('').split('\0').map((text) => text.replace(/^\n+/, '')).filter((text) => text !== ''),
      closed: () => waitFor('the socket to close', () => closedWith, 15_000),
    };
  }

  /** A figure of the server's `/metrics`. */
  async function metric(name: string): Promise<number> {
    const text = await (await fetch(server.stompUrl.replace(/^ws(.*)\/stomp$/, 'http$1/metrics'))).text();
    return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
  }

  /** Writes `bytes` to the socket's connection as they are: ws checks what it sends itself. */
  const writeToWire = (socket: WebSocket, bytes: Buffer) => (socket as unknown as { _socket: { write(data: Buffer): void } })._socket.write(bytes);

  const frame = (command: string, headers: Record<string, string> = {}, body = '') =>
    `${command}\n${Object.entries(headers).map(([name, value]) => `${name}:${value}\n`).join('')}\n${body}\0`;

  async function connected(heartBeat = '0,0') {
    const raw = await rawSocket();
    const token = await testToken(`customer-${randomUUID()}`, 'customer');
    raw.socket.send(frame('CONNECT', { 'accept-version': '1.2', host: 'parley', 'heart-beat': heartBeat, Authorization: `Bearer ${token}` }));
    await waitFor('CONNECTED', () => raw.frames().some((text) => text.startsWith('CONNECTED\n')));
    return raw;
  }

  /** The ERROR frame received, then the close. */
  async function errorThenClose(raw: Awaited<ReturnType<typeof rawSocket>>) {
    const closed = await raw.closed();
    const error = raw.frames().find((text) => text.startsWith('ERROR\n'));
    expect(error).toBeDefined();
    return { error: error!, closed };
  }

  it('negotiates the STOMP sub-protocol, newest first', async () => {
    expect((await rawSocket(['v10.stomp', 'v12.stomp', 'v11.stomp'])).socket.protocol).toBe('v12.stomp');
    expect((await rawSocket(['v11.stomp', 'v10.stomp'])).socket.protocol).toBe('v11.stomp');
    expect((await rawSocket([])).socket.protocol).toBe('');
  });

  it('answers CONNECT with version, heart-beat, server and session; STOMP 1.1 when the client only speaks that', async () => {
    const raw = await connected();
    const connectedFrame = raw.frames()[0]!;
    expect(connectedFrame).toMatch(/^CONNECTED\nversion:1\.2\nheart-beat:200,200\nserver:Parley\/[\d.]+\nsession:[0-9a-f-]{36}\n/);
    const old = await rawSocket(['v11.stomp']);
    old.socket.send(frame('STOMP', { 'accept-version': '1.0,1.1', passcode: await testToken('customer-old', 'customer') }));
    await waitFor('CONNECTED', () => old.frames()[0]?.includes('version:1.1'));
  });

  it('refuses a version it does not speak with an ERROR naming the ones it does, then closes', async () => {
    const raw = await rawSocket();
    raw.socket.send(frame('CONNECT', { 'accept-version': '2.0,3.1', passcode: await testToken('customer-new', 'customer') }));
    const { error } = await errorThenClose(raw);
    expect(error).toContain('message:unsupported version');
    expect(error).toContain('Supported protocol versions are 1.2 1.1 1.0');
  });

  it('SEND before CONNECT: ERROR, then close', async () => {
    const raw = await rawSocket();
    raw.socket.send(frame('SEND', { destination: '/app/chat/open', receipt: 'r1' }, '{}'));
    const { error, closed } = await errorThenClose(raw);
    expect(error).toContain('message:not connected');
    expect(error).toContain('receipt-id:r1');
    expect(closed.code).toBe(1002);
  });

  it('binary garbage: ERROR, then close', async () => {
    const raw = await connected();
    raw.socket.send(Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff, 0x0a, 0x00]));
    const { error } = await errorThenClose(raw);
    expect(error).toContain('message:unknown command');
  });

  it('an unknown command: ERROR, then close', async () => {
    const raw = await connected();
    raw.socket.send(frame('PUBLISH', { destination: '/app/chat/open' }, '{}'));
    expect((await errorThenClose(raw)).error).toContain('message:unknown command PUBLISH');
  });

  it('a frame over the 64 KiB limit: ERROR, then close', async () => {
    const raw = await connected();
    raw.socket.send(frame('SEND', { destination: `/app/chat/${sessionId}/messages` }, 'x'.repeat(65 * 1024)));
    expect((await errorThenClose(raw)).error).toContain('message:frame exceeds 65536 bytes');
  });

  it('a 10 MiB frame streamed in 64 KiB messages: ERROR once past the limit, then close', async () => {
    const raw = await connected();
    const head = frame('SEND', { destination: `/app/chat/${sessionId}/messages` }, '').slice(0, -1);
    raw.socket.send(head);
    const chunk = 'y'.repeat(64 * 1024);
    for (let sent = 0; sent < 10 * 1024 * 1024 && raw.socket.readyState === WebSocket.OPEN; sent += chunk.length) raw.socket.send(chunk);
    expect((await errorThenClose(raw)).error).toContain('message:frame exceeds 65536 bytes');
  });

  it('a 10 MiB WebSocket message: refused before it is buffered, with an ERROR, then close 1009', async () => {
    const raw = await connected();
    raw.socket.send(frame('SEND', { destination: `/app/chat/${sessionId}/messages` }, 'z'.repeat(10 * 1024 * 1024)));
    const { error, closed } = await errorThenClose(raw);
    expect(error).toContain('message:message too large\n');
    expect(error).toContain('a WebSocket message may hold 1048576 bytes, a frame 65536');
    expect(closed.code).toBe(1009);
  });

  it('10,000 headers: ERROR, then close', async () => {
    const raw = await connected();
    const headers = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`h${i}`, 'v']));
    raw.socket.send(frame('SEND', { destination: `/app/chat/${sessionId}/messages`, ...headers }, '{}'));
    expect((await errorThenClose(raw)).error).toContain('message:too many headers');
  });

  it('a text message that is not UTF-8: ERROR, then close 1007', async () => {
    const raw = await connected();
    const payload = Buffer.from([0xc3, 0x28]);
    const mask = Buffer.from([1, 2, 3, 4]);
    const masked = payload.map((byte, i) => byte ^ mask[i % 4]!);
    writeToWire(raw.socket, Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]));
    const { error, closed } = await errorThenClose(raw);
    expect(error).toContain('message:malformed frame\n');
    expect(error).toContain('a text WebSocket message must be UTF-8');
    expect(closed.code).toBe(1007);
  });

  it('a WebSocket message in 20,000 fragments, more than ws buffers for one: ERROR, then close 1008', async () => {
    const raw = await connected();
    // Fragments of one byte each, masked with zeros: a text frame, then continuations, none final.
    const fragment = (opcode: number) => Buffer.from([opcode, 0x81, 0, 0, 0, 0, 0x78]);
    const fragments = Buffer.concat([fragment(0x01), ...Array.from({ length: 19_999 }, () => fragment(0x00))]);
    writeToWire(raw.socket, fragments);
    const { error, closed } = await errorThenClose(raw);
    expect(error).toContain('message:message in too many parts\n');
    expect(closed.code).toBe(1008);
  });

  it('a frame that breaks the WebSocket framing (unmasked, as only a server may send): ERROR, then close 1002', async () => {
    const raw = await connected();
    writeToWire(raw.socket, Buffer.from([0x81, 0x02, 0x68, 0x69]));
    const { error, closed } = await errorThenClose(raw);
    expect(error).toContain('message:malformed frame\n');
    expect(closed.code).toBe(1002);
  });

  it('a client that sends nothing after CONNECT is dropped after twice the heart-beat period', async () => {
    const connectSentAt = Date.now();
    const raw = await connected(`${HEARTBEAT_MS},${HEARTBEAT_MS}`);
    const { error } = await errorThenClose(raw);
    expect(error).toContain('message:heart-beat timeout');
    // Silent for twice the period, not less (and, the connection's spec shows, not much more).
    expect(Date.now() - connectSentAt).toBeGreaterThanOrEqual(2 * HEARTBEAT_MS);
    expect(Number(/nothing received for (\d+) ms/.exec(error)?.[1])).toBeGreaterThanOrEqual(2 * HEARTBEAT_MS);
    expect(raw.received.filter((text) => text === '\n').length).toBeGreaterThan(0); // the server's own heart-beats
  });

  it('a client whose heart-beats keep coming stays connected', async () => {
    const raw = await connected(`${HEARTBEAT_MS},${HEARTBEAT_MS}`);
    const beating = setInterval(() => raw.socket.send('\n'), HEARTBEAT_MS / 2);
    try {
      // Ten of the server's heart-beats: five times the period after which a silent client is dropped.
      await waitFor('ten heart-beats from the server', () => raw.received.filter((text) => text === '\n').length >= 10);
      expect(raw.socket.readyState).toBe(WebSocket.OPEN);
    } finally {
      clearInterval(beating);
    }
  });

  it('a socket that never sends CONNECT is closed', async () => {
    const raw = await rawSocket();
    const { error } = await errorThenClose(raw);
    expect(error).toContain('message:connect timeout');
  });

  it('a subscriber that stops reading is dropped once more than the bound waits to be sent to it, not queued for without end', async () => {
    const raw = await rawSocket();
    raw.socket.send(frame('CONNECT', { 'accept-version': '1.2', passcode: await testToken(`agent-${randomUUID()}`, 'agent') }));
    raw.socket.send(frame('SUBSCRIBE', { id: 'chat', destination: `/topic/chat/${sessionId}`, receipt: 'subscribed' }));
    await waitFor('the RECEIPT', () => raw.frames().some((text) => text.startsWith('RECEIPT\n')));
    raw.socket.pause(); // reads nothing more: what the server sends piles up in the kernel's buffers, then in its own

    // 12 KB MESSAGEs, 50 at a time, until the server gives up on the subscriber (several MiB
    // fit in the kernel's buffers of a stalled loopback connection before the server's own
    // 1 MiB bound, STOMP_MAX_BUFFERED_BYTES, is reached).
    const dropped = async () => (await metric('parley_stomp_slow_consumers_dropped_total')) > droppedBefore;
    const droppedBefore = await metric('parley_stomp_slow_consumers_dropped_total');
    const body = '€'.repeat(4000);
    let sent = 0;
    while (!(await dropped()) && sent < 3000) {
      const messageIds = Array.from({ length: 50 }, () => randomUUID());
      const sends = messageIds.map((messageId) => agent.send(`/app/chat/${sessionId}/messages`, { messageId, body }));
      expect(await Promise.all(sends)).toEqual(sends.map(() => ({ ok: true })));
      await waitFor('the messages at the reading subscriber', () => agent.eventsOn(`/topic/chat/${sessionId}`).some((event) => event.data.messageId === messageIds.at(-1)), 30_000);
      sent += messageIds.length;
    }
    expect(await dropped()).toBe(true);

    raw.socket.resume();
    const closed = await raw.closed();
    expect(raw.frames().filter((text) => text.startsWith('MESSAGE\n')).length).toBeLessThan(sent);
    // The ERROR and the close frame wait behind the MiB queued for the client; it is cut if they
    // are not through within two seconds.
    expect([1006, 1008]).toContain(closed.code);
    expect(raw.frames().filter((text) => text.startsWith('ERROR\n'))).toEqual(closed.code === 1008 ? [expect.stringContaining('message:slow consumer')] : []);
  });

  it('runs a burst of pipelined frames in order: every RECEIPT, in the order sent', async () => {
    const raw = await connected();
    const opened = Array.from({ length: 200 }, (_, i) => frame('SEND', { destination: '/app/chat/open', receipt: `r${i}` }, JSON.stringify({ sessionId: randomUUID(), subject: `burst ${i}` })));
    raw.socket.send(opened.join(''));
    await waitFor('200 receipts', () => raw.frames().filter((text) => text.startsWith('RECEIPT\n')).length === 200, 30_000);
    const receipts = raw.frames().filter((text) => text.startsWith('RECEIPT\n')).map((text) => /receipt-id:(\S+)/.exec(text)![1]);
    expect(receipts).toEqual(opened.map((_, i) => `r${i}`));
  });

  it('reads a frame split over several messages, and several frames in one message', async () => {
    const raw = await rawSocket();
    const connect = frame('CONNECT', { 'accept-version': '1.2', passcode: await testToken(`customer-${randomUUID()}`, 'customer') });
    for (let i = 0; i < connect.length; i += 7) raw.socket.send(connect.slice(i, i + 7));
    raw.socket.send(frame('SUBSCRIBE', { id: '1', destination: '/user/queue/errors', receipt: 'a' }) + frame('SUBSCRIBE', { id: '2', destination: '/topic/inbox', receipt: 'b' }));
    await waitFor('the RECEIPT and the rejection', () => raw.frames().length === 3);
    const [connectedFrame, receipt, rejection] = raw.frames();
    expect(connectedFrame).toMatch(/^CONNECTED\n/);
    expect(receipt).toMatch(/^RECEIPT\nreceipt-id:a\n/);
    expect(rejection).toMatch(/^MESSAGE\n/);
    expect(rejection).toContain('code:FORBIDDEN');
    expect(rejection).toContain('receipt-id:b');
  });

  it('accepts ACK and NACK and ignores them; refuses transactions with an ERROR', async () => {
    const raw = await connected();
    raw.socket.send(frame('ACK', { id: 'm1', receipt: 'ack' }) + frame('NACK', { id: 'm2', receipt: 'nack' }));
    await waitFor('two RECEIPTs', () => raw.frames().filter((text) => text.startsWith('RECEIPT\n')).length === 2);
    raw.socket.send(frame('BEGIN', { transaction: 'tx1' }));
    expect((await errorThenClose(raw)).error).toContain('message:transactions are not supported');
  });

  it('a frame without a header STOMP requires: ERROR, then close', async () => {
    const raw = await connected();
    raw.socket.send(frame('SUBSCRIBE', { destination: '/user/queue/errors' }));
    expect((await errorThenClose(raw)).error).toContain('SUBSCRIBE needs the id header');
  });

  it('DISCONNECT with a receipt: the RECEIPT, then a normal close', async () => {
    const raw = await connected();
    raw.socket.send(frame('DISCONNECT', { receipt: 'bye' }));
    expect((await raw.closed()).code).toBe(1000);
    expect(raw.frames().at(-1)).toMatch(/^RECEIPT\nreceipt-id:bye\n/);
  });
});

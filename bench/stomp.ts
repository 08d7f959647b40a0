import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, type IMessage } from '@stomp/stompjs';
import { SignJWT } from 'jose';
import { WebSocket } from 'ws';
import { freshEmbeddedDatabase } from './embedded.js';

const SECRET = 'stomp-benchmark-secret-of-at-least-32-bytes';
const SERVER = fileURLToPath(new URL('../src/main.js', import.meta.url));

/**
 * The STOMP gateway of a real server (`dist/src/main.js`, its own process, on a fresh embedded
 * database), driven by `@stomp/stompjs` clients over WebSockets from this process: N
 * customer/agent pairs, each customer sending messages on an open-loop schedule at a target
 * total rate. Latencies are taken from each message's scheduled time (a late send counts
 * against the server, no coordinated omission): to its RECEIPT at the customer, and to its
 * MESSAGE at the agent (append, projection, NOTIFY, fan-out). Then the server's memory per idle
 * connection (CONNECTed, subscribed to its errors queue).
 */
export async function stompBenchmark(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      pairs: { type: 'string', default: '50' },
      rate: { type: 'string', default: '200' },
      seconds: { type: 'string', default: '10' },
      idle: { type: 'string', default: '1000' },
    },
  });
  const [pairs, rate, seconds, idle] = [values.pairs, values.rate, values.seconds, values.idle].map(Number) as [number, number, number, number];
  const database = await freshEmbeddedDatabase(54332);
  const dataDir = await mkdtemp(join(tmpdir(), 'parley-bench-stomp-'));
  const port = await freePort();
  const server = startServer({ DATABASE_URL: database.url, PORT: String(port), JWT_SECRET: SECRET, DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
  const clients: Client[] = [];
  try {
    await serverReady(server, port);
    const url = `ws://127.0.0.1:${port}/stomp`;
    console.log(`STOMP gateway: ${pairs} customer/agent pairs, ${rate} messages/s for ${seconds} s`);
    const chats = await Promise.all(Array.from({ length: pairs }, (_, i) => startChat(url, i, clients)));
    const result = await runOpenLoop(chats, rate, seconds);
    console.log(`sent:      ${result.sent} messages, achieved ${fmt(result.achievedRate)} messages/s (RECEIPTed), ${result.lost} without RECEIPT or MESSAGE`);
    console.log(`RECEIPT:   ${summary(result.receiptLatencies)}`);
    console.log(`MESSAGE:   ${summary(result.deliveryLatencies)} (at the agent)`);
    const memory = await idleMemory(url, port, idle, clients);
    console.log(`idle:      ${fmt(memory.rssPerConnection / 1024)} KiB RSS, ${fmt(memory.heapPerConnection / 1024)} KiB heap per connection (${idle} connections)`);
  } finally {
    await Promise.all(clients.map((client) => client.deactivate().catch(() => {})));
    server.kill('SIGINT');
    await new Promise((resolve) => server.once('exit', resolve));
    await rm(dataDir, { recursive: true, force: true });
    await database.stop();
  }
}

/** One pair's open session: the customer sends; when each message's RECEIPT and MESSAGE arrived, by message id. */
interface Chat {
  readonly customer: Client;
  readonly sessionId: string;
  readonly receipts: Map<string, number>;
  readonly deliveries: Map<string, number>;
}

async function startChat(url: string, index: number, clients: Client[]): Promise<Chat> {
  const customer = await connect(url, await token(`bench-customer-${index}`, 'customer'), clients);
  const agent = await connect(url, await token(`bench-agent-${index}`, 'agent'), clients);
  const chat: Chat = { customer, sessionId: randomUUID(), receipts: new Map(), deliveries: new Map() };
  customer.onUnhandledReceipt = (frame) => chat.receipts.set(frame.headers['receipt-id']!, performance.now());
  await request(customer, '/app/chat/open', { sessionId: chat.sessionId, subject: 'benchmark' });
  await request(agent, `/app/chat/${chat.sessionId}/join`, {});
  await subscribe(agent, `/topic/chat/${chat.sessionId}`, (message) => {
    const body = JSON.parse(message.body) as { type: string; data: { messageId?: string } };
    if (body.type === 'ChatMessageSent' && body.data.messageId) chat.deliveries.set(body.data.messageId, performance.now());
  });
  return chat;
}

interface LoopResult {
  readonly sent: number;
  readonly lost: number;
  readonly achievedRate: number;
  readonly receiptLatencies: number[];
  readonly deliveryLatencies: number[];
}

/** Sends `rate` messages a second, round-robin over the chats, each at its scheduled time. */
async function runOpenLoop(chats: Chat[], rate: number, seconds: number): Promise<LoopResult> {
  const total = Math.round(rate * seconds);
  const due: Array<{ chat: Chat; messageId: string; at: number }> = [];
  const start = performance.now() + 100;
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (next < total && start + (next * 1000) / rate <= now) {
        const chat = chats[next % chats.length]!;
        const messageId = randomUUID();
        due.push({ chat, messageId, at: start + (next * 1000) / rate });
        chat.customer.publish({
          destination: `/app/chat/${chat.sessionId}/messages`,
          body: JSON.stringify({ messageId, body: `benchmark message ${next}` }),
          headers: { receipt: messageId },
        });
        next++;
      }
      if (next < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  const complete = () => due.every(({ chat, messageId }) => chat.receipts.has(messageId) && chat.deliveries.has(messageId));
  const deadline = performance.now() + 30_000;
  while (!complete() && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  const receipted = due.filter(({ chat, messageId }) => chat.receipts.has(messageId));
  const lastReceipt = Math.max(...receipted.map(({ chat, messageId }) => chat.receipts.get(messageId)!));
  return {
    sent: due.length,
    lost: due.length - due.filter(({ chat, messageId }) => chat.receipts.has(messageId) && chat.deliveries.has(messageId)).length,
    achievedRate: receipted.length / ((lastReceipt - start) / 1000),
    receiptLatencies: receipted.map(({ chat, messageId, at }) => chat.receipts.get(messageId)! - at),
    deliveryLatencies: due.filter(({ chat, messageId }) => chat.deliveries.has(messageId)).map(({ chat, messageId, at }) => chat.deliveries.get(messageId)! - at),
  };
}

/** The server's RSS and heap growth per connection for `count` idle connections. */
async function idleMemory(url: string, port: number, count: number, clients: Client[]): Promise<{ rssPerConnection: number; heapPerConnection: number }> {
  const before = await serverMemory(port);
  const idleToken = await token('bench-idle', 'customer');
  for (let i = 0; i < count; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, count - i) }, async () => {
      const client = await connect(url, idleToken, clients);
      await subscribe(client, '/user/queue/errors', () => {});
    }));
  }
  const after = await serverMemory(port);
  return { rssPerConnection: (after.rss - before.rss) / count, heapPerConnection: (after.heap - before.heap) / count };
}

/** The least of a few samples of the server's RSS and used heap: garbage not collected yet only adds. */
async function serverMemory(port: number): Promise<{ rss: number; heap: number }> {
  const samples: Array<{ rss: number; heap: number }> = [];
  for (let i = 0; i < 5; i++) {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const metric = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
    samples.push({ rss: metric('process_resident_memory_bytes'), heap: metric('nodejs_heap_size_used_bytes') });
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { rss: Math.min(...samples.map((sample) => sample.rss)), heap: Math.min(...samples.map((sample) => sample.heap)) };
}

function connect(url: string, jwt: string, clients: Client[]): Promise<Client> {
  const client = new Client({
    webSocketFactory: () => new WebSocket(url, ['v12.stomp']),
    connectHeaders: { Authorization: `Bearer ${jwt}` },
    reconnectDelay: 0,
    debug: () => {},
  });
  clients.push(client);
  return new Promise((resolve, reject) => {
    client.onConnect = () => resolve(client);
    client.onStompError = (frame) => reject(new Error(`ERROR ${frame.headers.message}: ${frame.body}`));
    client.onWebSocketClose = () => reject(new Error('closed before CONNECTED'));
    client.activate();
  });
}

/** A SEND, waiting for its RECEIPT. */
function request(client: Client, destination: string, body: unknown): Promise<void> {
  const receipt = randomUUID();
  const received = new Promise<void>((resolve) => client.watchForReceipt(receipt, () => resolve()));
  client.publish({ destination, body: JSON.stringify(body), headers: { receipt } });
  return received;
}

/** A SUBSCRIBE, waiting for its RECEIPT. */
function subscribe(client: Client, destination: string, onMessage: (message: IMessage) => void): Promise<void> {
  const receipt = randomUUID();
  const received = new Promise<void>((resolve) => client.watchForReceipt(receipt, () => resolve()));
  client.subscribe(destination, onMessage, { receipt });
  return received;
}

function token(sub: string, role: string): Promise<string> {
  return new SignJWT({ role }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));
}

function startServer(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [SERVER], { env: { ...process.env, ...env, NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'inherit'] });
}

async function serverReady(server: ChildProcess, port: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`the server exited with ${server.exitCode}`);
    const response = await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined);
    if (response?.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the server was not ready within 60 s');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

function summary(latencies: number[]): string {
  if (latencies.length === 0) return 'none';
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(1);
  return `p50 ${at(0.5)} ms, p90 ${at(0.9)} ms, p99 ${at(0.99)} ms, max ${sorted.at(-1)!.toFixed(1)} ms (${latencies.length} samples)`;
}

function fmt(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createTestDatabase } from './database.js';
import { freePort } from './global-setup.js';
import { type NodeProcess, SERVER, postgresReachableFolder, startNode, waitFor } from './processes.js';
import { TEST_JWT_SECRET, testToken } from './stomp-app.js';
import { StompTestClient } from './stomp-client.js';

/**
 * Two servers as deployed (`node dist/src/main.js`) on two ports over one database: a chat
 * whose customer is on one node and whose agent is on the other works as if they shared one.
 */
describe('two nodes over one database', () => {
  let root: string;
  let drop: () => Promise<void>;
  const nodes: Array<{ server: NodeProcess; port: number }> = [];
  const clients: StompTestClient[] = [];

  beforeAll(async () => {
    root = await postgresReachableFolder('parley-stomp-e2e-');
    const database = await createTestDatabase();
    drop = database.drop;
    for (const name of ['a', 'b']) {
      const port = await freePort();
      const settings = { DATABASE_URL: database.url, PORT: String(port), JWT_SECRET: TEST_JWT_SECRET, DATA_DIR: join(root, name) };
      nodes.push({ server: startNode(SERVER, [], settings, root), port });
    }
    await Promise.all(nodes.map(({ server, port }) => ready(server, port)));
  }, 90_000);

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.disconnect()));
    for (const { server } of nodes) server.child.kill('SIGINT');
    await Promise.all(nodes.map(({ server }) => server.exited));
    await drop?.();
    await rm(root, { recursive: true, force: true });
  });

  async function ready(server: NodeProcess, port: number): Promise<void> {
    let exited = false;
    void server.exited.then(() => (exited = true));
    await waitFor(`the server on port ${port} to be ready`, async () => {
      if (exited) throw new Error(`the server exited; its output:\n${server.output()}`);
      const response = await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined);
      return response?.status === 200;
    }, 60_000);
  }

  async function connect(node: number, sub: string, role: string): Promise<StompTestClient> {
    const client = await StompTestClient.connect(`ws://127.0.0.1:${nodes[node]!.port}/stomp`, await testToken(sub, role));
    clients.push(client);
    return client;
  }

  it('delivers events and typing from either node to subscribers on the other', async () => {
    const customer = await connect(0, `customer-${randomUUID()}`, 'customer');
    const agent = await connect(1, `agent-${randomUUID()}`, 'agent');
    expect(await agent.subscribe('/topic/inbox')).toEqual({ ok: true });
    const sessionId = randomUUID();
    const topic = `/topic/chat/${sessionId}`;

    expect(await customer.send('/app/chat/open', { sessionId, subject: 'Wrong car delivered' })).toEqual({ ok: true });
    await waitFor('the opening in the inbox on node b', () => agent.eventsOn('/topic/inbox').some((event) => event.sessionId === sessionId), 15_000);
    expect(await customer.subscribe(topic)).toEqual({ ok: true });
    expect(await agent.send(`/app/chat/${sessionId}/join`, {})).toEqual({ ok: true });
    expect(await agent.subscribe(topic)).toEqual({ ok: true });

    expect(await customer.send(`/app/chat/${sessionId}/messages`, { messageId: randomUUID(), body: 'Sent from node a' })).toEqual({ ok: true });
    expect(await agent.send(`/app/chat/${sessionId}/typing`, { typing: true })).toEqual({ ok: true });
    expect(await agent.send(`/app/chat/${sessionId}/messages`, { messageId: randomUUID(), body: 'Sent from node b' })).toEqual({ ok: true });

    const atAgent = await agent.eventsUpTo(topic, 3);
    expect(atAgent.map((event) => [event.revision, event.data.body])).toEqual([[2, 'Sent from node a'], [3, 'Sent from node b']]);
    const atCustomer = await customer.eventsUpTo(topic, 3);
    expect(atCustomer.map((event) => event.revision)).toEqual([1, 2, 3]);
    expect(atCustomer[2]!.data.body).toBe('Sent from node b');
    const typing = customer.messagesOn(topic).filter((message) => message.headers['event-type'] === 'Typing');
    expect(typing.map((message) => JSON.parse(message.body).data)).toEqual([expect.objectContaining({ senderType: 'agent', typing: true })]);
  });
});

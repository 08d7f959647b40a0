import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { INestApplication } from '@nestjs/common';
import { SignJWT, generateKeyPair } from 'jose';
import { type DatabasePool, sql } from 'slonik';
import { chatProjection } from '../../read-models/chat.projection.js';
import { ProjectionRunner } from '../../read-models/projection-runner.js';
import { createTestDatabase } from '../../test/database.js';
import { startTcpProxy } from '../../test/tcp-proxy.js';
import { createApp } from '../app.module.js';
import { ChatSessionService } from '../chat-session/chat-session.service.js';
import { loadConfig } from '../config.js';
import { createDatabasePool } from '../database/pool.js';
import { PostgresEventStore } from '../event-store/postgres-event-store.js';

const SECRET = 'http-api-test-secret-of-at-least-32-bytes';

/** The HTTP API over a real database; the read-model rows are written directly (no projector runs). */
describe('HTTP API', () => {
  let drop: () => Promise<void>;
  let url: string;
  let pool: DatabasePool;
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    const database = await createTestDatabase();
    drop = database.drop;
    url = database.url;
    pool = await createDatabasePool(database.url);
    const config = loadConfig({ JWT_SECRET: SECRET, DEV_TOKENS: '1', PORT: '0' });
    const eventStore = new PostgresEventStore(pool);
    const projections = new ProjectionRunner({ databaseUrl: database.url, store: eventStore, projections: [chatProjection] });
    const runtime = { config, databaseUrl: database.url, pool, eventStore, projections, close: async () => {} };
    app = await createApp(runtime, false);
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
  });
  afterAll(async () => {
    await app.close();
    await pool.end();
    await drop();
  });

  const token = (sub: string, role: string, secret = SECRET) =>
    new SignJWT({ role }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('1h').sign(new TextEncoder().encode(secret));
  const get = async (path: string, as?: string | Promise<string>) => {
    const response = await fetch(`${base}${path}`, as === undefined ? {} : { headers: { authorization: `Bearer ${await as}` } });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };
  const customer = token('customer-1', 'customer');
  const agent = token('agent-1', 'agent');
  const auditor = token('auditor-1', 'auditor');

  async function insertSession(userId: string, startTime: string, status = 'waiting'): Promise<string> {
    const sessionId = randomUUID();
    await pool.query(sql.unsafe`
      INSERT INTO chat_sessions (session_id, user_id, subject, start_time, session_status, revision)
      VALUES (${sessionId}, ${userId}, 'Flat tyre', ${startTime}, ${status}, 0)`);
    return sessionId;
  }

  describe('sessions', () => {
    const ids: Record<string, string> = {};
    beforeAll(async () => {
      ids.a = await insertSession('customer-1', '2026-11-24T09:00:00.000001Z');
      ids.b = await insertSession('customer-1', '2026-11-24T09:00:00.000002Z', 'active');
      ids.c = await insertSession('customer-2', '2026-11-24T09:00:00.000003Z');
      ids.d = await insertSession('customer-1', '2026-11-24T09:00:00.000004Z', 'closed');
      for (const [revision, content] of ['Hello', 'Anyone?', 'Thanks'].entries()) {
        await pool.query(sql.unsafe`
          INSERT INTO chat_messages (message_id, session_id, sender_type, sender_id, message_content, message_type, "timestamp", revision, position)
          VALUES (${randomUUID()}, ${ids.a!}, 'user', 'customer-1', ${content}, 'text', now(), ${revision + 1}, ${revision + 10})`);
      }
    });

    it('needs a valid bearer token: 401 saying why', async () => {
      expect(await get('/api/sessions')).toMatchObject({ status: 401, body: { message: 'an Authorization: Bearer <token> header is required' } });
      expect(await get('/api/sessions', token('customer-1', 'customer', `${SECRET}-wrong`))).toMatchObject({ status: 401, body: { message: 'the token signature does not verify' } });
      expect(await get('/api/sessions', token('customer-1', 'admin'))).toMatchObject({ status: 401 });
      const [none, refused] = await Promise.all([fetch(`${base}/api/sessions`), fetch(`${base}/api/sessions`, { headers: { authorization: 'Bearer x.y.z' } })]);
      expect([none.headers.get('www-authenticate'), refused.headers.get('www-authenticate')]).toEqual(['Bearer realm="parley"', 'Bearer realm="parley", error="invalid_token"']);
      expect(none.headers.get('x-powered-by')).toBeNull();
    });

    it('answers over HTTP/1.1 a client that offers to upgrade to h2c, as Java\'s HttpClient does by default', async () => {
      // The request of java.net.http.HttpClient.newHttpClient() (Java 17) to an http:// address.
      const headers = {
        Connection: 'Upgrade, HTTP2-Settings',
        'HTTP2-Settings': 'AAEAAEAAAAIAAAAAAAMAAAAAAAQBAAAAAAUAAEAAAAYABgAA',
        Upgrade: 'h2c',
        'User-Agent': 'Java-http-client/17.0.15',
        Authorization: `Bearer ${await customer}`,
      };
      const answer = await new Promise<{ status?: number; body: string } | Error>((resolve) => {
        const request = http.get(`${base}/api/sessions`, { headers }, (response) => {
          let body = '';
          response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => resolve({ status: response.statusCode, body }));
        });
        request.on('upgrade', (response) => resolve(new Error(`switched protocols: ${response.statusCode}`)));
        request.on('error', resolve);
      });
      expect(answer).toMatchObject({ status: 200 });
      expect(JSON.parse((answer as { body: string }).body).items).toHaveLength(3);
    });

    it('lists a customer only their own sessions, newest first, page by page to the end', async () => {
      const first = await get('/api/sessions?limit=2', customer);
      expect(first.status).toBe(200);
      expect(first.body.items.map((s: { sessionId: string }) => s.sessionId)).toEqual([ids.d, ids.b]);
      const second = await get(`/api/sessions?limit=2&cursor=${first.body.nextCursor}`, customer);
      expect(second.body).toEqual({ items: [expect.objectContaining({ sessionId: ids.a, userId: 'customer-1', status: 'waiting', subject: 'Flat tyre' })], nextCursor: null });
    });

    it('lists agents and auditors every session, filtered by status', async () => {
      expect((await get('/api/sessions', agent)).body.items).toHaveLength(4);
      expect((await get('/api/sessions?status=waiting', auditor)).body.items.map((s: { sessionId: string }) => s.sessionId)).toEqual([ids.c, ids.a]);
    });

    it('shows one session to its customer and agents, and answers 404 to another customer and for an unknown id', async () => {
      expect(await get(`/api/sessions/${ids.c}`, agent)).toMatchObject({ status: 200, body: { sessionId: ids.c, userId: 'customer-2' } });
      expect(await get(`/api/sessions/${ids.c}`, customer)).toMatchObject({ status: 404 });
      expect(await get(`/api/sessions/${randomUUID()}`, agent)).toMatchObject({ status: 404 });
    });

    it('pages messages with after and limit', async () => {
      const first = await get(`/api/sessions/${ids.a}/messages?limit=2`, customer);
      expect(first.body).toEqual({
        items: [
          expect.objectContaining({ content: 'Hello', senderType: 'user', messageType: 'text', revision: 1 }),
          expect.objectContaining({ content: 'Anyone?', revision: 2 }),
        ],
        nextCursor: '2',
      });
      expect((await get(`/api/sessions/${ids.a}/messages?after=2`, customer)).body).toEqual({ items: [expect.objectContaining({ content: 'Thanks' })], nextCursor: null });
      expect(await get(`/api/sessions/${ids.c}/messages`, customer)).toMatchObject({ status: 404 });
    });

    it('tells the browser to keep no copy of a transcript, a session or a token: on a shared computer the next user could read it', async () => {
      const answers = await Promise.all([
        fetch(`${base}/api/sessions/${ids.a}/messages`, { headers: { authorization: `Bearer ${await customer}` } }),
        fetch(`${base}/api/sessions?limit=5`, { headers: { authorization: `Bearer ${await agent}` } }),
        fetch(`${base}/api/audit/sessions/${ids.a}/state`, { headers: { authorization: `Bearer ${await auditor}` } }),
        fetch(`${base}/api/dev/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sub: 'agent-5', role: 'agent' }) }),
      ]);
      expect(answers.map((answer) => answer.headers.get('cache-control'))).toEqual(['no-store', 'no-store', 'no-store', 'no-store']);
    });

    it('may be called by the pages of other sites (CORS), the bearer token included', async () => {
      const origin = 'https://www.rental-site.example';
      const preflight = await fetch(`${base}/api/sessions?limit=5`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
      expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
      const response = await fetch(`${base}/api/sessions?limit=5`, { headers: { origin, authorization: `Bearer ${await customer}` } });
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBe('*');
    });

    it('answers 400 naming the bad parameter', async () => {
      const message = async (path: string) => ((await get(path, agent)).body as { message: string }).message;
      expect(await message('/api/sessions?status=open')).toBe('status must be one of waiting, active, closed, got "open"');
      expect(await message('/api/sessions?limit=0')).toBe('limit must be an integer from 1 to 100, got "0"');
      expect(await message('/api/sessions?limit=ten')).toBe('limit must be an integer from 1 to 100, got "ten"');
      expect(await message('/api/sessions?cursor=garbage')).toBe('cursor must be a nextCursor returned by this API');
      // Cursors a client made up, whose time JavaScript reads and PostgreSQL would refuse.
      for (const startTime of ['1', 'March 7', '+275760-09-13T00:00:00.000Z', '2026-02-31T00:00:00Z']) {
        const cursor = Buffer.from(JSON.stringify([startTime, randomUUID()])).toString('base64url');
        expect(await message(`/api/sessions?cursor=${cursor}`)).toBe('cursor must be a nextCursor returned by this API');
      }
      expect(await message('/api/sessions?status=waiting&status=closed')).toBe('status must be given once');
      expect(await message('/api/sessions/not-a-uuid')).toBe('id must be a UUID, got "not-a-uuid"');
      expect(await message(`/api/sessions/${ids.a}/messages?after=-1`)).toMatch(/^after must be an integer from 0/);
    });

    it('names the agent a session is with beside the id, in the list and on its own; no one while it waits', async () => {
      const taken = await insertSession('customer-3', '2026-11-24T09:00:00.000005Z', 'active');
      await pool.query(sql.unsafe`UPDATE chat_sessions SET agent_id = 'agent-2', agent_name = 'Bea' WHERE session_id = ${taken}`);
      const waiting = await insertSession('customer-3', '2026-11-24T09:00:00.000006Z');
      const listed = (await get('/api/sessions?limit=2', agent)).body.items;
      expect(listed.map(({ sessionId, agentId, agentName }: Record<string, unknown>) => ({ sessionId, agentId, agentName }))).toEqual([
        { sessionId: waiting, agentId: null, agentName: null },
        { sessionId: taken, agentId: 'agent-2', agentName: 'Bea' },
      ]);
      expect((await get(`/api/sessions/${taken}`, agent)).body).toMatchObject({ agentId: 'agent-2', agentName: 'Bea' });
    });
  });

  describe('audit', () => {
    let sessionId: string;
    beforeAll(async () => {
      const service = app.get(ChatSessionService);
      sessionId = randomUUID();
      await service.submit({ kind: 'open', payload: { sessionId, subject: 'Scratch on the door' }, actor: { id: 'customer-9', role: 'customer' } });
      await service.submit({ kind: 'join', sessionId, payload: {}, actor: { id: 'agent-1', role: 'agent', name: 'Ada' } });
      await service.submit({ kind: 'messages', sessionId, payload: { messageId: randomUUID(), body: 'A photo, please' }, actor: { id: 'agent-1', role: 'agent' } });
    });

    it('gives auditors and agents the raw events with their metadata, and customers a 403', async () => {
      const { status, body } = await get(`/api/audit/sessions/${sessionId}/events`, auditor);
      expect(status).toBe(200);
      expect(body.events.map((e: { type: string }) => e.type)).toEqual(['ChatSessionOpened', 'AgentJoined', 'ChatMessageSent']);
      expect(body.events[2].metadata).toEqual(expect.objectContaining({ actor: { id: 'agent-1', role: 'agent' }, hash: expect.stringMatching(/^[0-9a-f]{64}$/) }));
      expect((await get(`/api/audit/sessions/${sessionId}/events`, agent)).status).toBe(200);
      expect((await get(`/api/audit/sessions/${sessionId}/events`, customer)).status).toBe(403);
      expect((await get(`/api/audit/sessions/${randomUUID()}/events`, auditor)).status).toBe(404);
    });

    it('rebuilds the session at a revision or an instant, and refuses points out of range with 400', async () => {
      expect((await get(`/api/audit/sessions/${sessionId}/state?revision=0`, auditor)).body).toEqual({
        sessionId, revision: 0, status: 'waiting', customerId: 'customer-9', agentId: null, rating: null, transcript: [],
      });
      const now = await get(`/api/audit/sessions/${sessionId}/state?at=${new Date().toISOString()}`, auditor);
      expect(now.body).toMatchObject({ revision: 2, status: 'active', agentId: 'agent-1', transcript: [expect.objectContaining({ body: 'A photo, please' })] });
      expect(await get(`/api/audit/sessions/${sessionId}/state?revision=3`, auditor)).toMatchObject({ status: 400, body: { message: 'revision must be from 0 to 2' } });
      expect(await get(`/api/audit/sessions/${sessionId}/state?at=yesterday`, auditor)).toMatchObject({
        status: 400,
        body: { message: 'at must be an ISO-8601 instant with its offset, such as 2026-12-07T16:00:00Z, got "yesterday"' },
      });
      expect(await get(`/api/audit/sessions/${sessionId}/state?at=2000-01-01T00:00:00Z`, auditor)).toMatchObject({ status: 400 });
    });

    it('verifies the hash chain, and names the first revision an edit in the database broke', async () => {
      expect((await get(`/api/audit/sessions/${sessionId}/verify`, auditor)).body).toEqual({ ok: true });
      await pool.query(sql.unsafe`ALTER TABLE events DISABLE TRIGGER USER`);
      await pool.query(sql.unsafe`UPDATE events SET data = jsonb_set(data, '{agentName}', '"Eve"') WHERE stream_name = ${`chat_session-${sessionId}`} AND revision = 1`);
      await pool.query(sql.unsafe`ALTER TABLE events ENABLE TRIGGER USER`);
      expect((await get(`/api/audit/sessions/${sessionId}/verify`, auditor)).body).toEqual({ ok: false, brokenAtRevision: 1 });
    });
  });

  it('answers 503, not 500, while the database cannot be reached', async () => {
    const proxy = await startTcpProxy(Number(new URL(url).port));
    const viaProxy = new URL(url);
    viaProxy.port = String(proxy.port);
    const flakyPool = await createDatabasePool(viaProxy.toString());
    const eventStore = new PostgresEventStore(flakyPool);
    const projections = new ProjectionRunner({ databaseUrl: viaProxy.toString(), store: eventStore, projections: [chatProjection] });
    const config = loadConfig({ JWT_SECRET: SECRET, PORT: '0' });
    const flaky = await createApp({ config, databaseUrl: viaProxy.toString(), pool: flakyPool, eventStore, projections, close: async () => {} }, false);
    await flaky.listen(0, '127.0.0.1');
    try {
      const request = async (path: string) => fetch(`${await flaky.getUrl()}${path}`, { headers: { authorization: `Bearer ${await agent}` } });
      expect((await request('/api/sessions')).status).toBe(200);
      await proxy.cut();
      const down = await request('/api/sessions');
      expect({ status: down.status, body: await down.json() }).toEqual({
        status: 503, body: { statusCode: 503, error: 'Service Unavailable', message: 'the database is unreachable; retry shortly' },
      });
      expect((await request(`/api/audit/sessions/${randomUUID()}/events`)).status).toBe(503);
      await proxy.restore();
      expect((await request('/api/sessions')).status).toBe(200);
    } finally {
      await flaky.close();
      await flakyPool.end();
      await proxy.close();
    }
  });

  it('answers 503, not 401, while the key set of JWT_JWKS_URL cannot be fetched: the token is not at fault', async () => {
    const eventStore = new PostgresEventStore(pool);
    const projections = new ProjectionRunner({ databaseUrl: url, store: eventStore, projections: [chatProjection] });
    const config = loadConfig({ JWT_JWKS_URL: 'http://127.0.0.1:9/jwks.json', PORT: '0' });
    const keyless = await createApp({ config, databaseUrl: url, pool, eventStore, projections, close: async () => {} }, false);
    await keyless.listen(0, '127.0.0.1');
    try {
      const { privateKey } = await generateKeyPair('ES256');
      const signed = await new SignJWT({ role: 'agent' }).setProtectedHeader({ alg: 'ES256', kid: 'key-1' }).setSubject('agent-1').setExpirationTime('1h').sign(privateKey);
      const response = await fetch(`${await keyless.getUrl()}/api/sessions`, { headers: { authorization: `Bearer ${signed}` } });
      expect({ status: response.status, body: await response.json() }).toEqual({
        status: 503, body: { statusCode: 503, error: 'Service Unavailable', message: 'the signing keys of tokens could not be fetched; retry shortly' },
      });
    } finally {
      await keyless.close();
    }
  });

  describe('dev tokens', () => {
    const post = async (body: unknown) => {
      const response = await fetch(`${base}/api/dev/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: response.status, body: (await response.json()) as Record<string, any> };
    };

    it('issue a token the API accepts, and refuse a bad request naming the field', async () => {
      const { status, body } = await post({ sub: 'agent-5', role: 'agent', name: 'Bo' });
      expect(status).toBe(200);
      expect((await get('/api/sessions', body.token)).status).toBe(200);
      expect(await post({ sub: 'x', role: 'admin' })).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^role: /) } });
      expect(await post({ sub: 'x', role: 'agent', admin: true })).toMatchObject({ status: 400 });
    });

    it('refuse a body that is not sent as JSON with a 415 that says so, not a 400 saying the sub it holds is missing', async () => {
      const body = JSON.stringify({ sub: 'agent-5', role: 'agent' });
      // curl -d sends application/x-www-form-urlencoded unless told otherwise.
      for (const type of ['application/x-www-form-urlencoded', 'text/plain']) {
        const response = await fetch(`${base}/api/dev/token`, { method: 'POST', headers: { 'content-type': type }, body });
        expect({ type, status: response.status, message: ((await response.json()) as { message: string }).message }).toEqual({
          type, status: 415, message: expect.stringContaining('application/json'),
        });
      }
    });

    it('are not handed to the pages of other sites: a page the developer visits cannot take an auditor token from their server', async () => {
      const origin = 'https://any-site.example';
      const preflight = await fetch(`${base}/api/dev/token`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      const response = await fetch(`${base}/api/dev/token`, {
        method: 'POST', headers: { origin, 'content-type': 'application/json' }, body: JSON.stringify({ sub: 'auditor-9', role: 'auditor' }),
      });
      // Without this header, the browser keeps the answer from the page of the other site.
      expect([preflight.headers.get('access-control-allow-origin'), response.headers.get('access-control-allow-origin')]).toEqual([null, null]);
    });

    it('are not handed to other sites by another spelling of the route that reaches it either', async () => {
      const response = await fetch(`${base}/API/Dev/Token/`, {
        method: 'POST', headers: { origin: 'https://any-site.example', 'content-type': 'application/json' }, body: JSON.stringify({ sub: 'auditor-9', role: 'auditor' }),
      });
      expect({ status: response.status, allowOrigin: response.headers.get('access-control-allow-origin') }).toEqual({ status: 200, allowOrigin: null });
    });

    it('are issued on one kept-alive connection to a client that offers h2c with each POST', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const offerH2c = (sub: string) =>
        new Promise<{ status?: number; token: string; socket: unknown }>((resolve, reject) => {
          const body = JSON.stringify({ sub, role: 'customer' });
          const headers = { Connection: 'Upgrade, HTTP2-Settings', 'HTTP2-Settings': 'AAEAAEAAAAIAAAAAAAMAAAAAAAQBAAAAAAUAAEAAAAYABgAA', Upgrade: 'h2c', 'Content-Type': 'application/json' };
          const request = http.request(`${base}/api/dev/token`, { method: 'POST', agent, headers }, (response) => {
            let text = '';
            response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => resolve({ status: response.statusCode, token: JSON.parse(text).token, socket: request.socket }));
          });
          request.on('upgrade', (response) => reject(new Error(`switched protocols: ${response.statusCode}`)));
          request.on('error', reject);
          request.end(body);
        });
      try {
        const first = await offerH2c('c-h2c-1');
        const second = await offerH2c('c-h2c-2');
        expect([first.status, second.status]).toEqual([200, 200]);
        expect(second.socket).toBe(first.socket);
        expect((await get('/api/sessions', second.token)).status).toBe(200);
      } finally {
        agent.destroy();
      }
    });
  });
});

import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import pg from 'pg';
import { createTestDatabase } from '../database.js';
import { scratchFolder, waitFor } from '../processes.js';
import { runSeed } from '../seeded-random.js';
import { TEST_JWT_SECRET, testToken } from '../stomp-app.js';
import { type Outcome, StompTestClient } from '../stomp-client.js';
import { FUZZ_INPUT_KINDS, fuzzParser } from '../stomp-fuzz.js';
import { AppNode, count, say, serversLeft } from './nodes.js';

/** Inputs of each kind the long fuzz feeds the parser (each whole, then cut at random). */
const FUZZ_INPUTS_PER_KIND = 100_000;

/**
 * Issue 6, scenario 4: hostile input. The frame parser under a long seeded fuzz; then, against
 * the server process, what the quick specs leave out: forged tokens claiming a real customer,
 * a customer's valid token used on another customer's sessions, command bodies oversized,
 * malformed or smuggling fields, and text full of markup and control characters. Each gets the
 * contract's answer, the connection stays open, and nothing refused is stored.
 */
describe('reliability: hostile input', () => {
  it(`the STOMP parser: ${count(FUZZ_INPUTS_PER_KIND)} seeded inputs of each kind, fed whole and in random chunks`, () => {
    const seed = runSeed();
    say(`parser fuzz: seed ${seed} (rerun with RELIABILITY_SEED=${seed})`);
    const heapBefore = process.memoryUsage().heapUsed;
    const problems: string[] = [];
    for (const [i, kind] of FUZZ_INPUT_KINDS.entries()) {
      const started = Date.now();
      const report = fuzzParser(kind, seed + i, FUZZ_INPUTS_PER_KIND);
      problems.push(...report.problems.map((problem) => `${kind}: ${problem}`));
      say(`${kind}: ${count(report.inputs)} inputs, ${count(report.bytes)} bytes, in ${count(Date.now() - started)} ms: ` +
        `${count(report.inputsWithFrames)} yielded frames, ${count(report.inputsRefused)} refused with a protocol error, ` +
        `none threw; slowest input ${report.slowestMs.toFixed(1)} ms; most bytes held ${count(report.mostBuffered)} (never over the frame limit)`);
      expect(report.slowestMs).toBeLessThan(500); // no input makes the parser spin
      if (kind !== 'random bytes') expect(report.inputsWithFrames).toBeGreaterThan(FUZZ_INPUTS_PER_KIND / 20);
    }
    say(`heap used: ${count(Math.round(heapBefore / 2 ** 20))} MiB before, ${count(Math.round(process.memoryUsage().heapUsed / 2 ** 20))} MiB after`);
    expect(problems).toEqual([]);
  }, 120_000);

  describe('over STOMP, against the server process', () => {
    let folder: Awaited<ReturnType<typeof scratchFolder>>;
    let database: Awaited<ReturnType<typeof createTestDatabase>>;
    let node: AppNode;
    const clients: StompTestClient[] = [];
    const victimId = `customer-victim-${randomUUID()}`;
    let victim: StompTestClient;
    let attacker: StompTestClient;
    /** The victim's session an agent has joined, with one message; and one of theirs that is closed. */
    let active: string;
    let closed: string;
    let victimMessage: string;

    beforeAll(async () => {
      folder = await scratchFolder('parley-hostile-');
      database = await createTestDatabase();
      // The attacker sends faster than the default 20 a second: the answers under test are not RATE_LIMITED.
      node = await AppNode.create('app', database.url, folder.path, { STOMP_SEND_RATE: '1000', STOMP_SEND_BURST: '1000' });
      await node.start();
      victim = await connect(victimId, 'customer');
      const agent = await connect(`agent-${randomUUID()}`, 'agent');
      attacker = await connect(`customer-attacker-${randomUUID()}`, 'customer');
      [active, closed] = [randomUUID(), randomUUID()];
      victimMessage = randomUUID();
      for (const sessionId of [active, closed]) expect(await victim.send('/app/chat/open', { sessionId, subject: 'My booking' })).toEqual({ ok: true });
      expect(await agent.send(`/app/chat/${active}/join`, {})).toEqual({ ok: true });
      expect(await victim.send(`/app/chat/${active}/messages`, { messageId: victimMessage, body: 'my card ends 4242' })).toEqual({ ok: true });
      expect(await victim.send(`/app/chat/${closed}/close`, {})).toEqual({ ok: true });
    }, 90_000);

    afterAll(async () => {
      await Promise.all(clients.map((client) => client.disconnect()));
      await node?.stop();
      await database?.drop();
      await folder?.remove();
      expect(serversLeft()).toBe(0);
    }, 60_000);

    async function connect(sub: string, role: string): Promise<StompTestClient> {
      const client = await StompTestClient.connect(node.stompUrl, await testToken(sub, role));
      clients.push(client);
      expect(await client.subscribe('/user/queue/errors')).toEqual({ ok: true });
      return client;
    }

    /** Every event stored, as `stream@revision type`: what a refused command must leave as it was. */
    async function storedEvents(): Promise<string[]> {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        const { rows } = await client.query<{ event: string }>(`SELECT stream_name || '@' || revision || ' ' || event_type AS event FROM events ORDER BY position`);
        return rows.map((row) => row.event);
      } finally {
        await client.end();
      }
    }

    /** Sends each case and checks its answer, then that the log is as it was. Returns the answers' count. */
    async function refusedAll(client: StompTestClient, cases: ReadonlyArray<readonly [string, string, unknown, string]>): Promise<number> {
      const before = await storedEvents();
      const answers: Array<[string, Outcome]> = [];
      for (const [what, destination, body] of cases) answers.push([what, await client.send(destination, body)]);
      expect(answers.map(([what, outcome]) => [what, outcome.ok ? 'RECEIPT' : outcome.code]))
        .toEqual(cases.map(([what, , , code]) => [what, code]));
      expect(await storedEvents()).toEqual(before);
      return answers.length;
    }

    it('forged, altered, expired and wrong-algorithm tokens claiming a real customer: ERROR unauthorized, then the close', async () => {
      const claims = { sub: victimId, role: 'customer' };
      const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const sign = (alg: string, secret: string, set: (jwt: SignJWT) => SignJWT = (jwt) => jwt.setExpirationTime('1h')) =>
        set(new SignJWT({ role: claims.role }).setProtectedHeader({ alg, typ: 'JWT' }).setSubject(claims.sub).setIssuedAt()).sign(new TextEncoder().encode(secret));
      const [header, , signature] = (await testToken(`customer-attacker-${randomUUID()}`, 'customer')).split('.');
      const forged: Array<[string, string]> = [
        ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims, exp: 2e9 })}.`],
        ['signed with a guessed secret', await sign('HS256', 'secret')],
        ['signed with the right secret under HS512', await sign('HS512', TEST_JWT_SECRET)],
        ['another customer\'s token with the victim\'s sub pasted in', `${header}.${b64({ ...claims, exp: 2e9 })}.${signature}`],
        ['another customer\'s token made an agent', `${header}.${b64({ sub: 'customer-attacker', role: 'agent', exp: 2e9 })}.${signature}`],
        ['the victim\'s token, expired', await testToken(victimId, 'customer', { expiresAt: Math.floor(Date.now() / 1000) - 60 })],
        ['the victim\'s token, not valid before next hour', await sign('HS256', TEST_JWT_SECRET, (jwt) => jwt.setNotBefore('1h').setExpirationTime('2h'))],
      ];
      const answers: string[] = [];
      for (const [what, token] of forged) {
        const refusal = await StompTestClient.connect(node.stompUrl, token).then(
          (client) => { clients.push(client); return undefined; },
          (error: Error & { frame?: { headers: Record<string, string>; body: string }; client?: StompTestClient }) => error,
        );
        expect([what, refusal?.frame?.headers.message]).toEqual([what, 'unauthorized']);
        await waitFor('the close', () => refusal!.client!.received.closeCode !== undefined);
        answers.push(`${what}: ${refusal!.frame!.body}`);
      }
      say(`tokens: ${forged.length} forged or stale tokens claiming ${victimId}, each refused at CONNECT (unauthorized, then closed):`);
      for (const answer of answers) say(`  ${answer}`);
    });

    it('a customer\'s valid token on another customer\'s sessions: refused, nothing stored, nothing seen', async () => {
      const outsider = await connect(`agent-${randomUUID()}`, 'agent');
      const auditor = await connect(`auditor-${randomUUID()}`, 'auditor');
      const refused = await refusedAll(attacker, [
        ['open with the victim\'s session id', '/app/chat/open', { sessionId: active, subject: 'mine now' }, 'NOT_A_PARTICIPANT'],
        ['a message in it', `/app/chat/${active}/messages`, { messageId: randomUUID(), body: 'hello from outside' }, 'NOT_A_PARTICIPANT'],
        ['the victim\'s message id resent', `/app/chat/${active}/messages`, { messageId: victimMessage, body: 'my card ends 4242' }, 'NOT_A_PARTICIPANT'],
        ['a read receipt', `/app/chat/${active}/read`, { upToMessageId: victimMessage }, 'NOT_A_PARTICIPANT'],
        ['typing', `/app/chat/${active}/typing`, { typing: true }, 'FORBIDDEN'],
        ['closing it', `/app/chat/${active}/close`, { reason: 'bye' }, 'NOT_A_PARTICIPANT'],
        ['rating the closed one', `/app/chat/${closed}/rating`, { rating: 1, comment: 'awful' }, 'NOT_A_PARTICIPANT'],
        ['joining as if an agent', `/app/chat/${active}/join`, {}, 'FORBIDDEN'],
        ['leaving as if the agent', `/app/chat/${active}/leave`, {}, 'FORBIDDEN'],
      ]) + await refusedAll(outsider, [
        ['another agent writing in an active session', `/app/chat/${active}/messages`, { messageId: randomUUID(), body: 'I am the agent now' }, 'NOT_A_PARTICIPANT'],
        ['another agent closing it', `/app/chat/${active}/close`, {}, 'NOT_A_PARTICIPANT'],
      ]) + await refusedAll(auditor, [
        ['an auditor writing', `/app/chat/${active}/messages`, { messageId: randomUUID(), body: 'audit says hi' }, 'FORBIDDEN'],
      ]);
      expect(await attacker.subscribe(`/topic/chat/${active}`, { 'since-revision': '-1' })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
      const token = await testToken('customer-attacker-http', 'customer');
      const http = async (path: string) => (await fetch(`http://127.0.0.1:${node.port}${path}`, { headers: { authorization: `Bearer ${token}` } })).status;
      const statuses = [await http(`/api/sessions/${active}`), await http(`/api/sessions/${active}/messages`), await http(`/api/audit/sessions/${active}/events`)];
      expect(statuses).toEqual([404, 404, 403]);
      expect(victim.received.messages.filter((message) => message.headers.destination !== '/user/queue/errors')).toEqual([]);
      expect(attacker.messagesOn(`/topic/chat/${active}`)).toEqual([]);
      say(`borrowed tokens: ${refused} commands on the victim's sessions refused with the contract's codes, none stored; ` +
        `SUBSCRIBE with since-revision -1 FORBIDDEN, nothing delivered; HTTP ${statuses.join(', ')}`);
    });

    it('oversized, malformed and smuggling command bodies: the contract\'s code, nothing stored, the connection stays open', async () => {
      const own = randomUUID();
      expect(await attacker.send('/app/chat/open', { sessionId: own, subject: 'Own session' })).toEqual({ ok: true });
      const to = `/app/chat/${own}/messages`;
      const message = (extra: object) => ({ messageId: randomUUID(), body: 'hi', ...extra });
      const nested = `{"messageId":"${randomUUID()}","body":"deep","x":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
      const refused = await refusedAll(attacker, [
        ['a body of 4,001 characters', to, message({ body: 'x'.repeat(4_001) }), 'INVALID_MESSAGE'],
        ['a body of 60,000 characters (under the frame limit)', to, message({ body: 'x'.repeat(60_000) }), 'INVALID_MESSAGE'],
        ['a blank body (spaces, tabs, newlines)', to, message({ body: ' \t\r\n ' }), 'INVALID_MESSAGE'],
        ['a lone UTF-16 surrogate', to, message({ body: 'broken \ud800 text' }), 'INVALID_MESSAGE'],
        ['a smuggled senderType', to, message({ senderType: 'agent' }), 'INVALID_COMMAND'],
        ['a smuggled senderId', to, message({ senderId: victimId }), 'INVALID_COMMAND'],
        ['a __proto__ key', to, `{"messageId":"${randomUUID()}","body":"hi","__proto__":{"senderType":"agent"}}`, 'INVALID_COMMAND'],
        ['JSON nested 20,000 deep', to, nested, 'INVALID_COMMAND'],
        ['a JSON array', to, '[]', 'INVALID_COMMAND'],
        ['JSON null', to, 'null', 'INVALID_COMMAND'],
        ['a JSON string', to, '"hi"', 'INVALID_COMMAND'],
        ['not JSON', to, '{"messageId": ', 'INVALID_COMMAND'],
        ['a messageId that is SQL', to, message({ messageId: '\'; DROP TABLE events; --' }), 'INVALID_COMMAND'],
        ['a session id that is SQL', `/app/chat/x' OR '1'='1/messages`, message({}), 'INVALID_COMMAND'],
        ['an attachment URL that runs script', to, message({ attachmentUrl: 'javascript:alert(1)' }), 'INVALID_COMMAND'],
        ['a subject of 201 characters', '/app/chat/open', { sessionId: randomUUID(), subject: 's'.repeat(201) }, 'INVALID_COMMAND'],
        ['a subject with a NUL character', '/app/chat/open', { sessionId: randomUUID(), subject: 'nul \u0000' }, 'INVALID_COMMAND'],
        ['a rating of 4.5', `/app/chat/${closed}/rating`, { rating: 4.5 }, 'INVALID_COMMAND'],
        ['a rating as a string', `/app/chat/${closed}/rating`, { rating: '5' }, 'INVALID_COMMAND'],
      ]);
      // Bytes that are not UTF-8 at all, in a binary frame.
      const receipt = randomUUID();
      attacker.client.publish({ destination: to, binaryBody: Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d]), headers: { receipt, 'content-type': 'application/json' } });
      expect(await attacker.outcome(receipt)).toMatchObject({ ok: false, code: 'INVALID_COMMAND' });
      // The connection is still of use, and the longest body allowed (in characters, not bytes) is taken.
      expect(await attacker.send(to, message({ body: '🚗'.repeat(4_000) }))).toEqual({ ok: true });
      say(`bodies: ${refused + 1} oversized, malformed or smuggling SENDs refused with the contract's codes, none stored, ` +
        `the connection open throughout; 4,000 emoji (16,000 bytes) accepted as 4,000 characters`);
    });

    it('markup and control characters in message text: refused, or stored and delivered as the very text sent (trimmed)', async () => {
      const own = randomUUID();
      expect(await attacker.send('/app/chat/open', { sessionId: own, subject: '<b>subject</b>' })).toEqual({ ok: true });
      expect(await attacker.subscribe(`/topic/chat/${own}`, { 'since-revision': '-1' })).toEqual({ ok: true });
      // The contract trims a body (white space at either end), and changes nothing else.
      const texts = [
        '<script>alert(1)</script>',
        '<img src=x onerror="alert(document.cookie)">',
        '"><svg/onload=alert(1)>',
        '{{constructor.constructor(\'alert(1)\')()}}',
        '=HYPERLINK("http://evil.example","click")',
        'bell \u0007, escape \u001b[31mred\u001b[0m, backspace \b, form feed \f, delete \u007f',
        'right-to-left \u202egnp.exe, zero-width \u200b\u200d, BOM \ufeff inside',
        'tab\tcarriage return\r\nnewline\nend',
      ];
      const before = await storedEvents();
      for (const body of texts) expect([body, await attacker.send(`/app/chat/${own}/messages`, { messageId: randomUUID(), body })]).toEqual([body, { ok: true }]);
      const nul = await attacker.send(`/app/chat/${own}/messages`, { messageId: randomUUID(), body: 'nul \u0000 byte' });
      expect(nul).toMatchObject({ ok: false, code: 'INVALID_MESSAGE' });
      expect((await storedEvents()).length).toBe(before.length + texts.length);

      const delivered = (await attacker.eventsUpTo(`/topic/chat/${own}`, texts.length)).filter((event) => event.type === 'ChatMessageSent');
      expect(delivered.map((event) => event.data.body)).toEqual(texts);
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      const { rows } = await client.query<{ content: string }>('SELECT message_content AS content FROM chat_messages WHERE session_id = $1 ORDER BY revision', [own]);
      const { rows: logged } = await client.query<{ body: string }>(`SELECT data->>'body' AS body FROM events WHERE stream_name = $1 AND event_type = 'ChatMessageSent' ORDER BY revision`, [`chat_session-${own}`]);
      await client.end();
      expect(rows.map((row) => row.content)).toEqual(texts);
      expect(logged.map((row) => row.body)).toEqual(texts);
      say(`text: ${texts.length} messages of markup and control characters stored (log and chat_messages) and delivered exactly as sent; ` +
        `a NUL character refused ${nul.ok ? 'RECEIPT' : nul.code}, nothing stored`);
    });
  });
});

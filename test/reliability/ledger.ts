/**
 * The reckoning after a reliability scenario: what the load clients were told, held against the
 * event log (each receipted message in it exactly once, whole, hash chain intact), the read
 * model (`chat_messages` equal to the log) and what the clients were delivered (every revision
 * once, in order, after reconnecting with `since-revision`).
 */
import { sql } from 'slonik';
import { z } from 'zod';
import { type AuditedEvent, SessionNotFound, sessionHistory, verifySession } from '../../src/audit/session-audit.js';
import { createDatabasePool } from '../../src/database/pool.js';
import { PostgresEventStore } from '../../src/event-store/postgres-event-store.js';
import { CLI, runNode, waitFor } from '../processes.js';
import type { LoadClient, SentMessage } from './load-client.js';
import { count } from './nodes.js';

export interface Reckoning {
  /** Every broken promise found, each naming its session or message. */
  readonly problems: string[];
  /** What was counted, as sentences for the scenario's account. */
  readonly lines: string[];
  readonly totals: { receipted: number; inLog: number; inReadModel: number; delivered: number };
}

const messageRow = z.object({ session_id: z.string(), message_id: z.string(), message_content: z.string(), revision: z.bigint() });
const sessionRow = z.object({ session_id: z.string(), revision: z.bigint(), message_count: z.number() });

/**
 * Waits for the projection and the clients to catch up (each client reconnected if need be),
 * then checks everything. `cwd`: where `chat audit verify` is run for one session.
 */
export async function reckon(databaseUrl: string, clients: readonly LoadClient[], cwd: string): Promise<Reckoning> {
  const pool = await createDatabasePool(databaseUrl, { maximumPoolSize: 2 });
  try {
    const store = new PostgresEventStore(pool);
    const ids = clients.map((client) => client.sessionId);
    const histories = new Map<string, AuditedEvent[]>();
    for (const client of clients) {
      // A session whose opening was never stored (its client gave up first) has no history.
      const history = await sessionHistory(store, client.sessionId).catch((error: unknown) => {
        if (error instanceof SessionNotFound) return undefined;
        throw error;
      });
      if (history) histories.set(client.sessionId, history);
    }
    const heads = new Map([...histories].map(([id, history]) => [id, history.length - 1]));

    const projectedAt = Date.now();
    const sessions = await waitFor('chat_sessions to reach the head of every stream', async () => {
      const rows = await pool.any(sql.type(sessionRow)`
        SELECT session_id::text, revision, message_count FROM chat_sessions WHERE session_id = ANY(${sql.array(ids, 'uuid')})`);
      const done = rows.length === histories.size && rows.every((row) => Number(row.revision) === heads.get(row.session_id));
      return done ? new Map(rows.map((row) => [row.session_id, row.message_count])) : undefined;
    }, 60_000);
    const projectionMs = Date.now() - projectedAt;
    const deliveredAt = Date.now();
    await Promise.all(clients.map((client) => client.ensureConnected()));
    await waitFor('every client to be delivered its session up to the head', () =>
      clients.every((client) => client.lastRevision === (heads.get(client.sessionId) ?? -1)), 60_000);
    const deliveryMs = Date.now() - deliveredAt;

    const rows = await pool.any(sql.type(messageRow)`
      SELECT session_id::text, message_id::text, message_content, revision FROM chat_messages
      WHERE session_id = ANY(${sql.array(ids, 'uuid')}) AND message_type = 'text' ORDER BY session_id, revision`);
    const readModel = new Map<string, Array<z.infer<typeof messageRow>>>();
    for (const row of rows) readModel.set(row.session_id, [...(readModel.get(row.session_id) ?? []), row]);

    const problems: string[] = [];
    const tally = { written: 0, receipted: 0, abandoned: 0, abandonedStored: 0, retried: 0, inLog: 0, inReadModel: 0, delivered: 0, chainsOk: 0, events: 0 };
    for (const client of clients) {
      const history = histories.get(client.sessionId) ?? [];
      problems.push(...client.violations.map((violation) => `${client.sessionId}: ${violation}`));
      checkSession(client, history, readModel.get(client.sessionId) ?? [], problems, tally);
      const messages = history.filter((event) => event.type === 'ChatMessageSent').length;
      if (history.length > 0 && sessions.get(client.sessionId) !== messages) {
        problems.push(`session ${client.sessionId}: chat_sessions counts ${sessions.get(client.sessionId)} messages, the log holds ${messages}`);
      }
    }
    const audited = clients.find((client) => (histories.get(client.sessionId)?.length ?? 0) > 1);
    const cli = audited ? await runNode(CLI, ['audit', 'verify', audited.sessionId], { DATABASE_URL: databaseUrl }, cwd) : undefined;
    if (cli && cli.code !== 0) problems.push(`chat audit verify ${audited!.sessionId} exited ${cli.code}: ${cli.output}`);

    const c = count;
    return {
      problems,
      totals: { receipted: tally.receipted, inLog: tally.inLog, inReadModel: tally.inReadModel, delivered: tally.delivered },
      lines: [
        `${c(clients.length)} sessions: sent ${c(tally.written)} messages; ${c(tally.receipted)} receipted, ${c(tally.abandoned)} given up ` +
          `unanswered or refused (${c(tally.abandonedStored)} of those stored anyway, once), ${c(tally.retried)} resent with the same id after a lost answer`,
        `event log: ${c(tally.events)} events, ${c(tally.inLog)} messages, each once and whole; every receipted message in it exactly once; ` +
          `hash chains verified: ${c(tally.chainsOk)}/${c(histories.size)}${cli ? ` (and \`chat audit verify\` on one: exit ${cli.code})` : ''}`,
        `chat_messages: ${c(tally.inReadModel)} rows, each message once, equal to the log; chat_sessions at every stream's head, ` +
          `its message counts right (caught up ${c(projectionMs)} ms after the traffic)`,
        `clients (after reconnecting with since-revision): ${c(tally.delivered)} messages delivered, every revision once, in order ` +
          `(caught up ${c(deliveryMs)} ms after the projection)`,
      ],
    };
  } finally {
    await pool.end();
  }
}

type Tally = Record<'written' | 'receipted' | 'abandoned' | 'abandonedStored' | 'retried' | 'inLog' | 'inReadModel' | 'delivered' | 'chainsOk' | 'events', number>;

function checkSession(client: LoadClient, history: AuditedEvent[], rows: z.infer<typeof messageRow>[], problems: string[], tally: Tally): void {
  const where = `session ${client.sessionId}`;
  const sent = new Map(client.messages.map((message) => [message.messageId, message]));
  const logged = history.filter((event) => event.type === 'ChatMessageSent').map((event) => ({ revision: event.revision, data: event.data as { messageId: string; body: string } }));
  tally.events += history.length;
  tally.written += client.messages.length;
  tally.inLog += logged.length;
  tally.inReadModel += rows.length;
  tally.retried += client.counts.retriedAfterLoss;

  if (history.some((event, i) => event.revision !== i)) problems.push(`${where}: revisions are not 0..${history.length - 1}`);
  const chain = verifySession(history);
  if (chain.ok) tally.chainsOk += 1;
  else problems.push(`${where}: the hash chain breaks at revision ${chain.brokenAtRevision}`);

  const times = new Map<string, number>();
  for (const { data } of logged) {
    times.set(data.messageId, (times.get(data.messageId) ?? 0) + 1);
    const message = sent.get(data.messageId);
    if (!message) problems.push(`${where}: the log holds a message nobody sent: ${data.messageId}`);
    else if (message.body !== data.body) problems.push(`${where}: message ${data.messageId} is stored altered`);
  }
  for (const [messageId, n] of times) if (n > 1) problems.push(`${where}: message ${messageId} is in the log ${n} times`);
  for (const message of client.messages) checkMessage(message, times.get(message.messageId) ?? 0, where, problems, tally);

  const receiptedOrder = client.messages.filter((message) => message.state === 'receipted').map((message) => message.messageId);
  const loggedReceipted = logged.map(({ data }) => data.messageId).filter((id) => sent.get(id)?.state === 'receipted');
  if (loggedReceipted.join() !== receiptedOrder.join()) problems.push(`${where}: the log holds the receipted messages in another order than they were sent`);

  const inLog = logged.map(({ revision, data }) => `${revision}:${data.messageId}:${data.body}`).join('\n');
  const inReadModel = rows.map((row) => `${row.revision}:${row.message_id}:${row.message_content}`).join('\n');
  if (inLog !== inReadModel) problems.push(`${where}: chat_messages (${rows.length} rows) differs from the log (${logged.length} messages)`);

  const delivered = client.seen.filter((event) => event.type === 'ChatMessageSent');
  tally.delivered += delivered.length;
  if (client.seen.some((event, i) => event.revision !== i)) problems.push(`${where}: the client was not delivered revisions 0..${client.seen.length - 1} in order`);
  const deliveredIds = delivered.map((event) => `${event.revision}:${event.data.messageId}:${event.data.body}`).join('\n');
  if (deliveredIds !== inLog) problems.push(`${where}: the client was delivered ${delivered.length} messages, the log holds ${logged.length}`);
}

function checkMessage(message: SentMessage, timesInLog: number, where: string, problems: string[], tally: Tally): void {
  if (message.state === 'receipted') {
    tally.receipted += 1;
    if (timesInLog !== 1) problems.push(`${where}: receipted message ${message.messageId} is in the log ${timesInLog} times`);
  } else {
    tally.abandoned += 1;
    if (timesInLog > 0) tally.abandonedStored += 1;
    // Refused UNAVAILABLE every time it was sent: nothing may have been appended.
    if (!message.outcomeUnknown && timesInLog > 0) problems.push(`${where}: message ${message.messageId}, only ever refused, is in the log`);
  }
}

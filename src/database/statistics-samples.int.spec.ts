import pg from 'pg';
import { createTestDatabase } from '../../test/database.js';

/**
 * Autovacuum analyzes the log and the transcripts each time they have grown by a tenth, on the
 * cores that serve the chat: migration 0007 keeps each ANALYZE to a sample of 3,000 rows, read
 * from as many pages, where PostgreSQL's default would read 30,000.
 */
describe('the planner statistics of the tables that grow with every message', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let client: pg.Client;

  beforeAll(async () => {
    database = await createTestDatabase();
    client = new pg.Client({ connectionString: database.url });
    await client.connect();
  });
  afterAll(async () => {
    await client.end();
    await database.drop();
  });

  /** What `ANALYZE VERBOSE table` says it read, as PostgreSQL words it. */
  const analyze = async (table: string): Promise<string> => {
    const notices: string[] = [];
    const onNotice = (notice: { message?: string }) => void notices.push(notice.message ?? '');
    client.on('notice', onNotice);
    try {
      await client.query(`ANALYZE VERBOSE ${table}`);
    } finally {
      client.off('notice', onNotice);
    }
    const scanned = notices.find((message) => message.includes('rows in sample'));
    if (scanned === undefined) throw new Error(`ANALYZE VERBOSE ${table} said nothing of its sample: ${notices.join(' | ')}`);
    return scanned;
  };

  it.each([
    {
      what: 'a log',
      table: 'events',
      rows: `INSERT INTO events (stream_name, category, revision, event_id, event_type, data, metadata)
        SELECT 'chat-session-' || (g / 20), 'chat-session', g % 20, gen_random_uuid(), 'MessageSent',
          jsonb_build_object('body', repeat('x', 300)), '{}'
        FROM generate_series(1, 90000) AS g`,
    },
    {
      what: 'transcripts',
      table: 'chat_messages',
      rows: `INSERT INTO chat_messages (message_id, session_id, sender_type, sender_id, message_content, message_type, "timestamp", revision, position)
        SELECT gen_random_uuid(), md5((g / 20)::text)::uuid, 'user', 'customer-1', repeat('y', 300), 'text', now(), g % 20, g
        FROM generate_series(1, 90000) AS g`,
    },
  ])('samples 3,000 pages of $what of over 4,000, not all of them', async ({ table, rows }) => {
    await client.query(rows);

    const said = await analyze(table);

    expect(said).toMatch(/scanned 3000 of \d{4,} pages/);
    expect(Number(/of (\d+) pages/.exec(said)![1])).toBeGreaterThan(4000);
    expect(said).toContain('3000 rows in sample');
  });
});

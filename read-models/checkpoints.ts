import type { CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { type LogPosition, type RecordedEvent, START } from '../src/event-store/event-store.js';
import { announcement, notifiedRow } from './notify.js';
import { sql } from './sql.js';

const checkpointRow = z.object({ commit_position: z.bigint(), prepare_position: z.bigint() });

/** Where the projection resumes: its stored position, or {@link START} when it never ran. */
export async function readCheckpoint(connection: CommonQueryMethods, projection: string): Promise<LogPosition> {
  const row = await connection.maybeOne(sql.type(checkpointRow)`
    SELECT commit_position, prepare_position FROM projection_checkpoints WHERE projection_name = ${projection}`);
  return row === null ? START : { commit: row.commit_position, prepare: row.prepare_position };
}

/**
 * Stores the projection's position, and announces the events projected up to it (`notify.ts`),
 * in one statement; call it in the transaction that wrote their rows.
 */
export async function writeCheckpoint(connection: CommonQueryMethods, projection: string, position: LogPosition, announced: readonly RecordedEvent[] = []): Promise<void> {
  await connection.query(sql.type(notifiedRow)`
    WITH stored AS (
      INSERT INTO projection_checkpoints (projection_name, commit_position, prepare_position, updated_at)
      VALUES (${projection}, ${position.commit}, ${position.prepare}, now())
      ON CONFLICT (projection_name) DO UPDATE
        SET commit_position = EXCLUDED.commit_position, prepare_position = EXCLUDED.prepare_position, updated_at = now())
    SELECT ${announcement(announced)} AS notified`);
}

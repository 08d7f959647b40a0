import { createSqlTag } from 'slonik';
import { z } from 'zod';

/**
 * slonik's `sql` tag with a `void` type alias (as in slonik's README), for statements whose rows
 * nobody reads: DDL, and writes whose row count is all that matters.
 */
export const sql = createSqlTag({ typeAliases: { void: z.object({}).strict() } });

/** One bigint column, the shape of the revision and count queries. */
export const revisionRow = z.object({ revision: z.bigint() });

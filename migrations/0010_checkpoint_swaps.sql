-- How many times a rebuild swapped its tables in under each projection (read-models/rebuild.ts).
-- The live projection keeps a memory of the rows it wrote (read-models/projection.ts); a swap
-- replaces the tables under it, and when the log did not move meanwhile the checkpoint stays
-- where it was, so the projection could not tell and wrote rows from its memory of the old tables
-- over the rebuilt ones. It now moves the checkpoint only while this count is what it was when it
-- read the checkpoint, and starts again from the stored checkpoint, memory empty, when it is not.
ALTER TABLE projection_checkpoints ADD COLUMN swaps bigint NOT NULL DEFAULT 0;

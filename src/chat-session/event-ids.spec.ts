import { timeOrderedUuid } from './event-ids.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('time-ordered event ids', () => {
  it('are UUIDv7s, distinct, each sorting after the ones made before it', () => {
    // Many ids within each millisecond, and several fills of the entropy pool (256 ids each).
    const ids = Array.from({ length: 20_000 }, () => timeOrderedUuid());
    for (const id of ids) expect(id).toMatch(UUID_V7);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toStrictEqual(ids);
  });

  it('carry the time they were made in their first 48 bits', () => {
    const before = Date.now();
    const id = timeOrderedUuid();
    const after = Date.now();
    const msecs = Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16);
    // At most one ahead: the counter within a millisecond may carry into the next one.
    expect(msecs).toBeGreaterThanOrEqual(before);
    expect(msecs).toBeLessThanOrEqual(after + 1);
  });

  it('draw fresh random bits for each id', () => {
    const ids = Array.from({ length: 1_000 }, () => timeOrderedUuid());
    // Their last 42 bits are random (the counter has the 6 before): no two alike in 1,000.
    expect(new Set(ids.map((id) => id.slice(-12))).size).toBe(ids.length);
  });
});

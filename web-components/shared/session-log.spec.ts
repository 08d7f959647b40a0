import { SessionLog } from './session-log.js';

const at = (revision: number) => ({ revision });

describe('the session log', () => {
  it('asks for the whole session first, then for what follows the last revision applied', () => {
    const log = new SessionLog();
    expect(log.sinceRevision).toBe('-1');
    expect([0, 1, 2].map((revision) => log.offer(at(revision)))).toEqual(['applied', 'applied', 'applied']);
    expect(log.sinceRevision).toBe('2');
  });

  it('applies each revision once: a catch-up overlapping live delivery repeats nothing', () => {
    const log = new SessionLog();
    const delivered = [0, 1, 2, 1, 2, 3, 3, 4].map((revision) => [revision, log.offer(at(revision))]);
    expect(delivered.filter(([, offered]) => offered === 'applied').map(([revision]) => revision)).toEqual([0, 1, 2, 3, 4]);
  });

  it('refuses an event past a gap, so that the caller asks again from the last one applied', () => {
    const log = new SessionLog(4);
    expect(log.offer(at(6))).toBe('gap');
    expect(log.sinceRevision).toBe('4');
    expect(log.offer(at(5))).toBe('applied');
    expect(log.offer(at(6))).toBe('applied');
  });
});

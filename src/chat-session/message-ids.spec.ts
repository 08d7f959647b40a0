import { MessageIds } from './message-ids.js';

const of = (...ids: string[]): MessageIds => ids.reduce((log, id) => log.append(id), MessageIds.empty());

/** Each id's position in `log`, in the order given. */
const positions = (log: MessageIds, ...ids: string[]): number[] => ids.map((id) => log.indexOf(id));

describe('a session’s message ids', () => {
  it('gives each id its position, in the order appended', () => {
    const log = of('a', 'b', 'c');
    expect(log.length).toBe(3);
    expect(positions(log, 'a', 'b', 'c', 'd')).toStrictEqual([0, 1, 2, -1]);
    expect([log.has('b'), log.has('d')]).toStrictEqual([true, false]);
  });

  it('keeps a repeated id at its first position', () => {
    const log = of('a', 'b');
    expect(log.append('a')).toBe(log);
    expect(positions(log.append('a').append('c'), 'a', 'c')).toStrictEqual([0, 2]);
  });

  it('never changes a value: an earlier one does not see the ids appended after it', () => {
    const earlier = of('a', 'b');
    const later = earlier.append('c').append('d');
    expect(earlier.length).toBe(2);
    expect(positions(earlier, 'a', 'b', 'c', 'd')).toStrictEqual([0, 1, -1, -1]);
    expect(positions(later, 'a', 'b', 'c', 'd')).toStrictEqual([0, 1, 2, 3]);
  });

  it('lets a value be extended twice, each extension on its own', () => {
    const base = of('a', 'b');
    const one = base.append('x').append('y');
    const other = base.append('y').append('z');
    expect(positions(one, 'a', 'b', 'x', 'y', 'z')).toStrictEqual([0, 1, 2, 3, -1]);
    expect(positions(other, 'a', 'b', 'x', 'y', 'z')).toStrictEqual([0, 1, -1, 2, 3]);
    expect(positions(base.append('x'), 'x', 'y')).toStrictEqual([2, -1]);
    expect(positions(base, 'x', 'y', 'z')).toStrictEqual([-1, -1, -1]);
  });
});

import { randomUUID } from 'node:crypto';
import { MessageIds, tagOf } from './message-ids.js';

/** `log` with `id` appended, tagged as the id itself: any tag would do, this one can be checked. */
const add = (log: MessageIds, id: string): MessageIds => log.append(id, tagOf(id));

const of = (...ids: string[]): MessageIds => ids.reduce(add, MessageIds.empty());

/** Whether each of `ids` in `log` has the tag it was appended with. */
const tagsKept = (log: MessageIds, ids: string[]): boolean => ids.every((id) => log.tagAt(log.indexOf(id)) === tagOf(id));

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
    expect(log.append('a', tagOf('another message'))).toBe(log);
    expect(log.tagAt(0)).toBe(tagOf('a'));
    expect(positions(add(add(log, 'a'), 'c'), 'a', 'c')).toStrictEqual([0, 2]);
  });

  it('never changes a value: an earlier one does not see the ids appended after it', () => {
    const earlier = of('a', 'b');
    const later = add(add(earlier, 'c'), 'd');
    expect(earlier.length).toBe(2);
    expect(positions(earlier, 'a', 'b', 'c', 'd')).toStrictEqual([0, 1, -1, -1]);
    expect(positions(later, 'a', 'b', 'c', 'd')).toStrictEqual([0, 1, 2, 3]);
  });

  it('lets a value be extended twice, each extension on its own', () => {
    const base = of('a', 'b');
    const one = add(add(base, 'x'), 'y');
    const other = add(add(base, 'y'), 'z');
    expect(positions(one, 'a', 'b', 'x', 'y', 'z')).toStrictEqual([0, 1, 2, 3, -1]);
    expect(positions(other, 'a', 'b', 'x', 'y', 'z')).toStrictEqual([0, 1, -1, 2, 3]);
    expect(positions(add(base, 'x'), 'x', 'y')).toStrictEqual([2, -1]);
    expect(positions(base, 'x', 'y', 'z')).toStrictEqual([-1, -1, -1]);
  });

  it('finds each of thousands of UUIDs at its position, and no other UUID', () => {
    const ids = Array.from({ length: 5000 }, () => randomUUID());
    const log = of(...ids);
    expect(log.length).toBe(5000);
    expect(ids.every((id, position) => log.indexOf(id) === position)).toBe(true);
    expect(tagsKept(log, ids)).toBe(true);
    expect(Array.from({ length: 5000 }, () => randomUUID()).some((id) => log.has(id))).toBe(false);
  });

  it('tells apart UUIDs that differ in one digit, and ids that only look like UUIDs', () => {
    const id = '0b6ba8a3-5f3c-4a0e-9d5e-1c2f3e4d5a6b';
    const log = of(id, '0b6ba8a3-5f3c-4a0e-9d5e-1c2f3e4d5a6c', id.toUpperCase(), `${id} `, id.replaceAll('-', ''));
    expect(positions(log, id, '0b6ba8a3-5f3c-4a0e-9d5e-1c2f3e4d5a6c', id.toUpperCase(), `${id} `, id.replaceAll('-', ''))).toStrictEqual([0, 1, 2, 3, 4]);
    expect(positions(log, '0b6ba8a3-5f3c-4a0e-9d5e-1c2f3e4d5a6d', '1b6ba8a3-5f3c-4a0e-9d5e-1c2f3e4d5a6b')).toStrictEqual([-1, -1]);
  });

  it('keeps the nil UUID apart from ids in any other form', () => {
    const nil = '00000000-0000-0000-0000-000000000000';
    expect(positions(of('x', nil), nil, 'x')).toStrictEqual([1, 0]);
    expect(of('x').has(nil)).toBe(false);
  });

  it('copies a prefix of thousands of UUIDs, mixed with other ids, when an earlier value is extended', () => {
    const ids = Array.from({ length: 3000 }, (_, i) => (i % 100 === 0 ? `legacy-${i}` : randomUUID()));
    const base = of(...ids.slice(0, 2000));
    const later = ids.slice(2000).reduce(add, base);
    const branch = add(base, randomUUID());
    const extra = randomUUID();
    const extended = add(branch, extra);
    expect(ids.every((id, position) => later.indexOf(id) === position)).toBe(true);
    expect(ids.slice(0, 2000).every((id, position) => extended.indexOf(id) === position)).toBe(true);
    expect(ids.slice(2000).some((id) => extended.has(id))).toBe(false);
    expect([extended.length, extended.indexOf(extra), later.has(extra)]).toStrictEqual([2002, 2001, false]);
    expect([tagsKept(later, ids), tagsKept(extended, [...ids.slice(0, 2000), extra])]).toStrictEqual([true, true]);
  });

  it('has no tag beyond its ids', () => {
    const log = of('a', 'b');
    const longer = add(log, 'c');
    expect(longer.tagAt(2)).toBe(tagOf('c'));
    expect(() => log.tagAt(2)).toThrow(RangeError);
    expect(() => log.tagAt(-1)).toThrow(RangeError);
  });
});

describe('a message’s tag', () => {
  it('is the same for the same texts, and tells apart texts that differ in a character, in their order or in where they split', () => {
    const tags = [
      tagOf('user', 'ada', 'Hello'),
      tagOf('user', 'ada', 'Hello!'),
      tagOf('user', 'ada', 'hello'),
      tagOf('agent', 'ada', 'Hello'),
      tagOf('ada', 'user', 'Hello'),
      tagOf('user', 'adaH', 'ello'),
      tagOf('user', 'ada', 'Hello', ''),
    ];
    expect(tagOf('user', 'ada', 'Hello')).toBe(tags[0]);
    expect(new Set(tags).size).toBe(tags.length);
  });

  it('is an unsigned 32-bit number, as the table keeps it, for long texts as well', () => {
    const tags = Array.from({ length: 1000 }, (_, i) => tagOf(`${i}`.repeat(4000)));
    expect(tags.every((tag) => Number.isInteger(tag) && tag >= 0 && tag < 2 ** 32)).toBe(true);
    expect(new Set(tags).size).toBe(1000);
  });
});

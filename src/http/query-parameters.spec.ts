import { isoInstant } from './query-parameters.js';

describe('isoInstant', () => {
  it.each([
    ['2026-12-07T16:00:00Z', '2026-12-07T16:00:00.000Z'],
    ['2026-12-07T16:00:00.123456+00:00', '2026-12-07T16:00:00.123Z'],
    ['2026-12-07T17:30:00+01:30', '2026-12-07T16:00:00.000Z'],
    ['2028-02-29T00:00:00-05:00', '2028-02-29T05:00:00.000Z'],
    // Date.UTC takes the years 0 to 99 for 1900 to 1999.
    ['0099-12-31T00:00:00Z', '0099-12-31T00:00:00.000Z'],
  ])('reads %s', (text, instant) => {
    expect(isoInstant(text)?.toISOString()).toBe(instant);
  });

  it.each([
    ['without an offset, which would be read in the server\'s zone', '2026-12-07T16:00:00'],
    ['a day that does not exist, which Date rolls over', '2026-02-31T00:00:00Z'],
    ['February 29 of a common year', '2026-02-29T00:00:00Z'],
    ['24:00', '2026-12-07T24:00:00Z'],
    ['a leap second', '2026-12-31T23:59:60Z'],
    ['a six-digit year', '+275760-09-13T00:00:00.000Z'],
    ['the year 0, which PostgreSQL does not have', '0000-12-31T00:00:00Z'],
    ['a bare number', '1'],
    ['a date in words', 'March 7'],
    ['an offset without minutes', '2026-12-07T16:00:00+05'],
    ['nanoseconds', '2026-12-07T16:00:00.123456789Z'],
  ])('refuses %s: %s', (_, text) => {
    expect(isoInstant(text)).toBeUndefined();
  });
});

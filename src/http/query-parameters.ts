import { BadRequestException } from '@nestjs/common';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An ISO-8601 instant: date, time (to the microsecond, as PostgreSQL keeps it) and offset. */
const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?(?:Z|[+-](\d{2}):(\d{2}))$/;

/**
 * `text` as an instant, when it is one whose every field is in range: JavaScript's `Date` takes
 * February 31, 24:00 or the year 0 (rolling the first two over), and PostgreSQL refuses them.
 * The command line's `--at` is read with it too.
 */
export function isoInstant(text: string): Date | undefined {
  const fields = ISO_INSTANT.exec(text)?.slice(1).map((field) => Number(field ?? 0));
  if (fields === undefined) return undefined;
  const [year, month, day, hours, minutes, seconds, offsetHours, offsetMinutes] = fields as [number, number, number, number, number, number, number, number];
  // Not Date.UTC, which takes the years 0 to 99 for 1900 to 1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  // PostgreSQL has no year 0 (1 BC), which JavaScript takes.
  const inRange = year >= 1 && date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day
    && hours <= 23 && minutes <= 59 && seconds <= 59 && offsetHours <= 15 && offsetMinutes <= 59;
  return inRange ? new Date(text) : undefined;
}

/** Parsers of path and query parameters: each bad value is a 400 that names its parameter. */
export const parameter = {
  uuid(name: string, value: string): string {
    if (!UUID.test(value)) throw new BadRequestException(`${name} must be a UUID, got "${value}"`);
    return value.toLowerCase();
  },

  integer(name: string, value: string | undefined, range: { min: number; max: number; fallback?: number }): number | undefined {
    if (value === undefined) return range.fallback;
    const number = /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(number) || number < range.min || number > range.max) {
      throw new BadRequestException(`${name} must be an integer from ${range.min} to ${range.max}, got "${value}"`);
    }
    return number;
  },

  oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T | undefined {
    if (value === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(value)) {
      throw new BadRequestException(`${name} must be one of ${allowed.join(', ')}, got "${value}"`);
    }
    return value as T;
  },

  instant(name: string, value: string): Date {
    const date = isoInstant(value);
    if (date === undefined) {
      throw new BadRequestException(`${name} must be an ISO-8601 instant with its offset, such as 2026-12-07T16:00:00Z, got "${value}"`);
    }
    return date;
  },

  /** A query parameter given twice arrives as an array: refused rather than guessed at. */
  single(name: string, value: unknown): string | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw new BadRequestException(`${name} must be given once`);
    return value;
  },
};

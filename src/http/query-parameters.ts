import { BadRequestException } from '@nestjs/common';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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
    const date = /^\d{4}-\d{2}-\d{2}T/.test(value) ? new Date(value) : new Date(Number.NaN);
    if (Number.isNaN(date.getTime())) throw new BadRequestException(`${name} must be an ISO-8601 instant, got "${value}"`);
    return date;
  },

  /** A query parameter given twice arrives as an array: refused rather than guessed at. */
  single(name: string, value: unknown): string | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw new BadRequestException(`${name} must be given once`);
    return value;
  },
};

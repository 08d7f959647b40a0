import {
  createPool,
  type DatabasePool,
  type DriverTypeParser,
  type Interceptor,
  SchemaValidationError,
} from 'slonik';

/**
 * A slonik pool as the whole app uses it: `int8` as `bigint` (positions and revisions outgrow
 * nothing), `timestamptz` as `Date`, and rows of `sql.type(zod)` queries validated.
 */
export async function createDatabasePool(
  url: string,
  options: { maximumPoolSize?: number; applicationName?: string } = {},
): Promise<DatabasePool> {
  return createPool(withApplicationName(url, options.applicationName ?? 'parley'), {
    maximumPoolSize: options.maximumPoolSize ?? 10,
    typeParsers,
    interceptors: [resultParser],
    statementTimeout: 'DISABLE_TIMEOUT',
    // A query that fails is reported, never silently replayed: the event store decides on retries.
    queryRetryLimit: 0,
    transactionRetryLimit: 0,
  });
}

const typeParsers: DriverTypeParser[] = [
  { name: 'int8', parse: (value) => BigInt(value) },
  { name: 'timestamptz', parse: (value) => new Date(value) },
];

/** slonik validates `sql.type(zod)` rows only through an interceptor like this one (its README's). */
const resultParser: Interceptor = {
  name: 'result-parser',
  transformRow: (context, query, row) => {
    if (!context.resultParser) return row;
    const result = context.resultParser.safeParse(row);
    if (!result.success) throw new SchemaValidationError(query, row, result.error.issues);
    return result.data as typeof row;
  },
};

function withApplicationName(url: string, name: string): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has('application_name')) parsed.searchParams.set('application_name', name);
  return parsed.toString();
}

import { Inject, Injectable } from '@nestjs/common';
import type { DatabasePool } from 'slonik';
import { SessionQueries } from '../../read-models/session-queries.js';
import { CONFIG, type Config } from '../config.js';
import { DATABASE_POOL } from '../database/pool.js';

/** A customer asked to open a session while having the most open sessions one may have. */
export class TooManyOpenSessions extends Error {
  override readonly name = 'TooManyOpenSessions';
  readonly code = 'RATE_LIMITED';

  constructor(readonly max: number) {
    super(`you already have ${max} open chat sessions, the most allowed; close one before opening another`);
  }
}

/**
 * How many sessions a customer may have open (not closed) at once (`MAX_OPEN_SESSIONS_PER_CUSTOMER`).
 * The decider sees one session only, so the count comes from the read model `chat_sessions`:
 * it is as fresh as the projection, and a customer who opens sessions faster than the
 * projection follows may end up a few over the limit.
 */
@Injectable()
export class OpenSessionLimit {
  private readonly queries: SessionQueries;
  private readonly max: number;

  constructor(@Inject(DATABASE_POOL) pool: DatabasePool, @Inject(CONFIG) config: Config) {
    this.queries = new SessionQueries(pool);
    this.max = config.maxOpenSessionsPerCustomer;
  }

  /**
   * Lets `customerId` open one session more.
   * @throws {TooManyOpenSessions} when the customer has the most open sessions already.
   */
  async admit(customerId: string): Promise<void> {
    if ((await this.queries.openSessionCount(customerId)) >= this.max) throw new TooManyOpenSessions(this.max);
  }
}

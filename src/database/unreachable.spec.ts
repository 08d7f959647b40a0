import { DatabaseUnreachable, explainUnreachable } from './unreachable.js';

describe('explainUnreachable', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

  it('says where and what to check for a known cause', () => {
    const explained = explainUnreachable(refused, 'postgres://parley:secret@db:5432/parley', false);
    expect(explained).toBeInstanceOf(DatabaseUnreachable);
    expect((explained as Error).message).toMatch(/^cannot use PostgreSQL at db:5432 \(from DATABASE_URL\): .*nothing accepts connections there/);
  });

  it('says that a connection was lost, when PostgreSQL ended it', () => {
    const terminated = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    const explained = explainUnreachable(terminated, 'postgres://parley:secret@db:5432/parley', false);
    expect(explained).toBeInstanceOf(DatabaseUnreachable);
    expect((explained as Error).message).toMatch(/^cannot use PostgreSQL at db:5432 \(from DATABASE_URL\): terminating connection [^\n]*; the connection was lost/);
  });

  it('explains the failure without a host rather than throw on a URL that does not parse', () => {
    const explained = explainUnreachable(refused, 'not a url', false);
    expect(explained).toBeInstanceOf(DatabaseUnreachable);
    expect((explained as Error).message).toMatch(/^cannot use PostgreSQL \(from DATABASE_URL\): /);
  });
});

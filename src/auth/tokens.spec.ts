import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, UnsecuredJWT } from 'jose';
import { InvalidToken, TokenService } from './tokens.js';

const SECRET = 'a-test-secret-that-is-at-least-32-bytes-long';
const key = (secret: string) => new TextEncoder().encode(secret);
const sign = (claims: Record<string, unknown>, options: { secret?: string; expires?: string; alg?: string } = {}) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: options.alg ?? 'HS256' })
    .setSubject('customer-1')
    .setIssuedAt()
    .setExpirationTime(options.expires ?? '1h')
    .sign(key(options.secret ?? SECRET));

describe('token verification with a shared secret', () => {
  let tokens: TokenService;
  beforeAll(async () => {
    tokens = await TokenService.create({ jwtSecret: SECRET, jwtJwksUrl: undefined, devTokens: false, dataDir: '/nonexistent' });
  });
  const reason = (token: string) => tokens.verify(token).then(() => 'accepted', (error: unknown) => (error instanceof InvalidToken ? error.message : error));

  it('accepts a token signed with the secret and reads its subject, role and name', async () => {
    expect(await tokens.verify(await sign({ role: 'customer', name: 'Carla' }))).toEqual({ id: 'customer-1', role: 'customer', name: 'Carla' });
  });

  it('refuses alg none, another key, another algorithm, expiry, and a missing or unknown role', async () => {
    const unsigned = new UnsecuredJWT({ role: 'agent' }).setSubject('customer-1').setExpirationTime('1h').encode();
    expect(await reason(unsigned)).toBe('the token is signed with an algorithm that is not accepted');
    expect(await reason(await sign({ role: 'agent' }, { secret: `${SECRET}-other` }))).toBe('the token signature does not verify');
    expect(await reason(await sign({ role: 'agent' }, { alg: 'HS512' }))).toBe('the token is signed with an algorithm that is not accepted');
    expect(await reason(await sign({ role: 'agent' }, { expires: '-1m' }))).toBe('the token has expired');
    expect(await reason(await sign({}))).toBe("the token's role must be one of customer, agent, auditor");
    expect(await reason(await sign({ role: 'admin' }))).toBe("the token's role must be one of customer, agent, auditor");
    expect(await reason('not.a.token')).toBe('the token is malformed');
  });

  it('issues no dev tokens unless enabled', async () => {
    await expect(tokens.issueDevToken({ id: 'x', role: 'agent' })).rejects.toThrow('dev tokens are disabled');
  });
});

describe('dev tokens', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'parley-tokens-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('are signed with a secret generated once in the data folder, readable by us only, and verify after a restart', async () => {
    const settings = { jwtSecret: undefined, jwtJwksUrl: undefined, devTokens: true, dataDir };
    const token = await (await TokenService.create(settings)).issueDevToken({ id: 'agent-7', role: 'agent', name: 'Ada' });
    const restarted = await TokenService.create(settings);
    expect(await restarted.verify(token)).toEqual({ id: 'agent-7', role: 'agent', name: 'Ada' });
    expect((await stat(join(dataDir, 'jwt-secret'))).mode & 0o777).toBe(0o600);
    expect((await readFile(join(dataDir, 'jwt-secret'), 'utf8')).trim()).toMatch(/^[\w-]{43}$/);
  });
});

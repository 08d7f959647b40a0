import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type JWK, SignJWT, UnsecuredJWT, exportJWK, generateKeyPair } from 'jose';
import { InvalidToken, TokenKeysUnavailable, TokenService } from './tokens.js';

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

  it('accepts a token signed with the secret and reads its subject, role and name, and until when it is valid', async () => {
    const token = await sign({ role: 'customer', name: 'Carla' });
    const { exp } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number };
    expect(await tokens.verify(token)).toEqual({ principal: { id: 'customer-1', role: 'customer', name: 'Carla' }, validUntil: (exp + 5) * 1000 });
  });

  it('refuses a token that never expires', async () => {
    const forever = await new SignJWT({ role: 'agent' }).setProtectedHeader({ alg: 'HS256' }).setSubject('agent-1').sign(key(SECRET));
    expect(await reason(forever)).toBe('the token has no exp claim');
  });

  it('checks the issuer and the audience when they are configured, and gives dev tokens both', async () => {
    const settings = { jwtSecret: SECRET, jwtJwksUrl: undefined, jwtIssuer: 'https://id.example.com', jwtAudience: 'parley', devTokens: true, dataDir: '/nonexistent' };
    const strict = await TokenService.create(settings);
    const refusal = (token: string) => strict.verify(token).then(() => 'accepted', (error: unknown) => (error instanceof InvalidToken ? error.message : error));
    const claims = { role: 'agent', iss: 'https://id.example.com', aud: ['billing', 'parley'] };
    expect(await refusal(await sign(claims))).toBe('accepted');
    expect(await refusal(await sign({ ...claims, aud: 'billing' }))).toBe('the token is meant for another audience than JWT_AUDIENCE');
    expect(await refusal(await sign({ ...claims, iss: 'https://other.example.com' }))).toBe('the token is issued by another issuer than JWT_ISSUER');
    expect(await refusal(await sign({ role: 'agent' }))).toBe('the token has no iss claim');
    expect(await refusal(await strict.issueDevToken({ id: 'agent-1', role: 'agent' }))).toBe('accepted');
  });

  it('refuses alg none, another key, another algorithm, expiry, a missing or unknown role, and a subject or name that is not text', async () => {
    const unsigned = new UnsecuredJWT({ role: 'agent' }).setSubject('customer-1').setExpirationTime('1h').encode();
    expect(await reason(unsigned)).toBe('the token is signed with an algorithm that is not accepted');
    expect(await reason(await sign({ role: 'agent' }, { secret: `${SECRET}-other` }))).toBe('the token signature does not verify');
    expect(await reason(await sign({ role: 'agent' }, { alg: 'HS512' }))).toBe('the token is signed with an algorithm that is not accepted');
    expect(await reason(await sign({ role: 'agent' }, { expires: '-1m' }))).toBe('the token has expired');
    expect(await reason(await sign({}))).toBe("the token's role must be one of customer, agent, auditor");
    expect(await reason(await sign({ role: 'admin' }))).toBe("the token's role must be one of customer, agent, auditor");
    expect(await reason('not.a.token')).toBe('the token is malformed');
    // What events could not store (NUL) or hash (a lone surrogate): the subject and name go into them.
    const nulSubject = await new SignJWT({ role: 'agent' }).setProtectedHeader({ alg: 'HS256' }).setSubject('agent-\u0000').setExpirationTime('1h').sign(key(SECRET));
    expect(await reason(nulSubject)).toBe("the token's subject (sub) is not valid Unicode text");
    expect(await reason(await sign({ role: 'agent', name: 'Ada \ud800' }))).toBe("the token's name is not valid Unicode text");
  });

  it('refuses a subject or a name longer than 200 characters, which no index of the read model could hold, and takes 200', async () => {
    const withSubject = (sub: string) => new SignJWT({ role: 'customer' }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('1h').sign(key(SECRET));
    expect(await reason(await withSubject('c'.repeat(201)))).toBe("the token's subject (sub) is longer than 200 characters");
    expect(await reason(await sign({ role: 'agent', name: 'A'.repeat(201) }))).toBe("the token's name is longer than 200 characters");
    expect(await reason(await withSubject('c'.repeat(200)))).toBe('accepted');
    expect(await reason(await sign({ role: 'agent', name: 'A'.repeat(200) }))).toBe('accepted');
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
    expect((await restarted.verify(token)).principal).toEqual({ id: 'agent-7', role: 'agent', name: 'Ada' });
    expect((await stat(join(dataDir, 'jwt-secret'))).mode & 0o777).toBe(0o600);
    expect((await readFile(join(dataDir, 'jwt-secret'), 'utf8')).trim()).toMatch(/^[\w-]{43}$/);
  });

  it('refuses to start with a generated secret too short to sign with, naming its file', async () => {
    const emptied = await mkdtemp(join(tmpdir(), 'parley-tokens-'));
    try {
      await writeFile(join(emptied, 'jwt-secret'), '\n'); // as a crash during its first write may leave it
      await expect(TokenService.create({ jwtSecret: undefined, jwtJwksUrl: undefined, devTokens: true, dataDir: emptied })).rejects.toThrow(
        `${join(emptied, 'jwt-secret')} holds a secret of 0 bytes, not 32 or more`,
      );
    } finally {
      await rm(emptied, { recursive: true, force: true });
    }
  });
});

describe('token verification with a JWKS URL', () => {
  let server: Server;
  let jwksUrl: string;
  let tokens: TokenService;
  let signingKey: CryptoKey;
  let publicJwk: JWK;
  const signWith = (privateKey: CryptoKey | Uint8Array, alg: string, kid = 'key-1') =>
    new SignJWT({ role: 'agent', name: 'Ada' }).setProtectedHeader({ alg, kid }).setSubject('agent-1').setExpirationTime('1h').sign(privateKey);
  const reason = (token: string) => tokens.verify(token).then(() => 'accepted', (error: unknown) => (error instanceof InvalidToken ? error.message : error));

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    signingKey = pair.privateKey;
    publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'key-1', alg: 'ES256', use: 'sig' };
    server = createServer((request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
    tokens = await TokenService.create({ jwtSecret: undefined, jwtJwksUrl: jwksUrl, devTokens: true, dataDir: '/nonexistent' });
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('accepts a token signed by a key of the set', async () => {
    expect((await tokens.verify(await signWith(signingKey, 'ES256'))).principal).toEqual({ id: 'agent-1', role: 'agent', name: 'Ada' });
  });

  it('refuses a token of another key, of a key not in the set, alg none, and HS256 keyed with the public key', async () => {
    const stranger = await generateKeyPair('ES256');
    expect(await reason(await signWith(stranger.privateKey, 'ES256'))).toBe('the token signature does not verify');
    expect(await reason(await signWith(stranger.privateKey, 'ES256', 'key-2'))).toBe('the token is signed by an unknown key');
    const unsigned = new UnsecuredJWT({ role: 'agent' }).setSubject('agent-1').setExpirationTime('1h').encode();
    expect(await reason(unsigned)).toBe('the token is signed with an algorithm that is not accepted');
    const confused = await signWith(new TextEncoder().encode(JSON.stringify(publicJwk)), 'HS256');
    expect(await reason(confused)).toBe('the token is signed with an algorithm that is not accepted');
  });

  it('issues no dev tokens, even when asked to', async () => {
    await expect(tokens.issueDevToken({ id: 'x', role: 'agent' })).rejects.toThrow('dev tokens are disabled');
  });

  it('tells a key set it cannot fetch from a bad token: the same token may do once it is back', async () => {
    const unreachable = await TokenService.create({ jwtSecret: undefined, jwtJwksUrl: 'http://127.0.0.1:9/jwks.json', devTokens: false, dataDir: '/nonexistent' });
    const refused = await unreachable.verify(await signWith(signingKey, 'ES256')).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(TokenKeysUnavailable);
    expect((refused as Error).message).toBe('the signing keys could not be fetched from JWT_JWKS_URL');
  });

  it('accepts a token without kid signed by one of two keys of the same kind (a key set during a rotation)', async () => {
    const [old, current] = await Promise.all([generateKeyPair('ES256', { extractable: true }), generateKeyPair('ES256', { extractable: true })]);
    const keys = [{ ...(await exportJWK(old.publicKey)), alg: 'ES256', use: 'sig' }, { ...(await exportJWK(current.publicKey)), alg: 'ES256', use: 'sig' }];
    const rotating = createServer((request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys })));
    await new Promise<void>((resolve) => rotating.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(rotating.address() as AddressInfo).port}/jwks.json`;
      const verifier = await TokenService.create({ jwtSecret: undefined, jwtJwksUrl: url, devTokens: false, dataDir: '/nonexistent' });
      const token = await new SignJWT({ role: 'agent' }).setProtectedHeader({ alg: 'ES256' }).setSubject('agent-1').setExpirationTime('1h').sign(current.privateKey);
      const outcome = await verifier.verify(token).then((verified) => verified.principal, (error: unknown) => (error as Error).message);
      expect(outcome).toEqual({ id: 'agent-1', role: 'agent' });
    } finally {
      await new Promise((resolve) => rotating.close(resolve));
    }
  });

  it('tells a key set whose server answers an error status (503, as an identity provider down behind its proxy) from a bad token', async () => {
    const down = createServer((request, response) => response.writeHead(503, { 'content-type': 'text/plain' }).end('Service Unavailable'));
    await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(down.address() as AddressInfo).port}/jwks.json`;
      const keyless = await TokenService.create({ jwtSecret: undefined, jwtJwksUrl: url, devTokens: false, dataDir: '/nonexistent' });
      const refused = await keyless.verify(await signWith(signingKey, 'ES256')).catch((error: unknown) => error);
      expect({ kind: (refused as Error).name, message: (refused as Error).message }).toEqual({
        kind: 'TokenKeysUnavailable', message: 'the signing keys could not be fetched from JWT_JWKS_URL',
      });
    } finally {
      await new Promise((resolve) => down.close(resolve));
    }
  });
});

import { negotiateHeartBeats, selectSubProtocol, tokenOf } from './negotiation.js';

describe('selectSubProtocol', () => {
  it.each([
    [['v10.stomp', 'v11.stomp', 'v12.stomp'], 'v12.stomp'],
    [['v11.stomp', 'v10.stomp'], 'v11.stomp'],
    [['v10.stomp'], 'v10.stomp'],
    [['mqtt', 'wamp'], false],
    [[], false],
  ])('%j → %s', (offered, chosen) => {
    expect(selectSubProtocol(new Set(offered))).toBe(chosen);
  });
});

describe('negotiateHeartBeats (server offers 10000,10000)', () => {
  it.each([
    ['10000,10000', { outgoingMs: 10_000, incomingMs: 10_000 }],
    ['4000,20000', { outgoingMs: 20_000, incomingMs: 10_000 }],
    ['30000,0', { outgoingMs: 0, incomingMs: 30_000 }],
    ['0,0', { outgoingMs: 0, incomingMs: 0 }],
    [' 0 , 5000 ', { outgoingMs: 10_000, incomingMs: 0 }],
    [undefined, { outgoingMs: 0, incomingMs: 0 }],
  ])('heart-beat %j → %j', (header, agreed) => {
    expect(negotiateHeartBeats(header, 10_000)).toEqual(agreed);
  });

  it('turns both directions off when the server offers 0', () => {
    expect(negotiateHeartBeats('1000,1000', 0)).toEqual({ outgoingMs: 0, incomingMs: 0 });
  });

  it.each(['10000', '-1,10', 'a,b', '1,2,3', '99999999999,1'])('refuses %j', (header) => {
    expect(() => negotiateHeartBeats(header, 10_000)).toThrow(RangeError);
  });
});

describe('tokenOf', () => {
  const headers = (entries: Record<string, string>) => new Map(Object.entries(entries));

  it('takes the bearer token of Authorization (either case), else passcode', () => {
    expect(tokenOf(headers({ Authorization: 'Bearer a.b.c' }))).toBe('a.b.c');
    expect(tokenOf(headers({ authorization: 'bearer  a.b.c ' }))).toBe('a.b.c');
    expect(tokenOf(headers({ passcode: 'x.y.z', login: 'ignored' }))).toBe('x.y.z');
  });

  it('finds none in a non-bearer Authorization, an empty passcode, or nothing', () => {
    expect(tokenOf(headers({ Authorization: 'Basic dXNlcjpwYXNz', passcode: 'x.y.z' }))).toBeUndefined();
    expect(tokenOf(headers({ passcode: '  ' }))).toBeUndefined();
    expect(tokenOf(headers({}))).toBeUndefined();
  });
});

import { parseSendDestination, parseSubscribeDestination } from './routes.js';

const ID = '6F1F7A64-5AD6-4A39-9D1A-0D6F3C1F9B10';

describe('parseSendDestination', () => {
  it.each([
    ['/app/chat/open', { kind: 'command', command: 'open' }],
    [`/app/chat/${ID}/join`, { kind: 'command', command: 'join', sessionId: ID }],
    [`/app/chat/${ID}/leave`, { kind: 'command', command: 'leave', sessionId: ID }],
    [`/app/chat/${ID}/messages`, { kind: 'command', command: 'messages', sessionId: ID }],
    [`/app/chat/${ID}/read`, { kind: 'command', command: 'read', sessionId: ID }],
    [`/app/chat/${ID}/close`, { kind: 'command', command: 'close', sessionId: ID }],
    [`/app/chat/${ID}/rating`, { kind: 'command', command: 'rating', sessionId: ID }],
    [`/app/chat/${ID}/typing`, { kind: 'typing', sessionId: ID.toLowerCase() }],
    ['/app/chat/not-a-uuid/messages', { kind: 'command', command: 'messages', sessionId: 'not-a-uuid' }],
  ])('%s', (destination, route) => {
    expect(parseSendDestination(destination)).toEqual(route);
  });

  it.each([
    '/app/chat/open/', '/app/chat', `/app/chat/${ID}/open`, `/app/chat/${ID}/delete`, `/app/chat/${ID}/messages/1`,
    `/app/chat/${ID}`, `/topic/chat/${ID}`, `/app/chat//messages`, `/app/chat/${ID}/Messages`, '',
  ])('names nothing: %j', (destination) => {
    expect(parseSendDestination(destination)).toBeUndefined();
  });
});

describe('parseSubscribeDestination', () => {
  it.each([
    [`/topic/chat/${ID}`, { kind: 'session', sessionId: ID.toLowerCase() }],
    ['/topic/chat/not-a-uuid', { kind: 'session', sessionId: 'not-a-uuid' }],
    ['/topic/inbox', { kind: 'inbox' }],
    ['/user/queue/errors', { kind: 'errors' }],
  ])('%s', (destination, route) => {
    expect(parseSubscribeDestination(destination)).toEqual(route);
  });

  it.each(['/topic/chat', `/topic/chat/${ID}/x`, '/topic/inbox/', '/user/queue/errors/other', '/queue/errors', '/app/chat/open'])(
    'names nothing: %j',
    (destination) => {
      expect(parseSubscribeDestination(destination)).toBeUndefined();
    },
  );
});

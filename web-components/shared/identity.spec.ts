import { claimsOf, randomId } from './identity.js';
import { describeRejection } from './rejections.js';

const base64url = (text: string) =>
  btoa(String.fromCharCode(...new TextEncoder().encode(text))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const jwt = (claims: object) => `e30.${base64url(JSON.stringify(claims))}.sig`;

describe('token claims and ids', () => {
  it('reads sub, role, name and expiry of a JWT, non-ASCII names included', () => {
    expect(claimsOf(jwt({ sub: 'c-1', role: 'customer', name: 'Zoë', exp: 5 }))).toEqual({ sub: 'c-1', role: 'customer', name: 'Zoë', exp: 5 });
  });

  it('is undefined for what is not a JWT with a subject', () => {
    expect(claimsOf(undefined)).toBeUndefined();
    expect(claimsOf('garbage')).toBeUndefined();
    expect(claimsOf(jwt({ role: 'agent' }))).toBeUndefined();
  });

  it('makes version-4 UUIDs, different each time', () => {
    const ids = new Set(Array.from({ length: 100 }, randomId));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('turns every rejection code into a sentence, and an unknown one into the server\'s message', () => {
    expect(describeRejection('SESSION_CLOSED')).toBe('This conversation has been closed, so this was not sent.');
    expect(describeRejection('INVALID_MESSAGE')).toMatch(/4,000 characters/);
    expect(describeRejection('SOMETHING_NEW', 'no reason')).toBe('The chat server refused this: no reason.');
    expect(describeRejection('RATE_LIMITED', 'too many', '/app/chat/open')).toMatch(/^You already have as many open chats as allowed/);
    expect(describeRejection('RATE_LIMITED', 'too fast', '/app/chat/s1/messages')).toMatch(/^You are sending too fast/);
    // Taking a chat: the refusal a second agent gets when another took it first.
    expect(describeRejection('NOT_A_PARTICIPANT', 'the session is handled by another agent', '/app/chat/s1/join')).toBe('Another agent has taken this chat.');
    expect(describeRejection('NOT_A_PARTICIPANT', 'not yours', '/app/chat/s1/leave')).toBe('You are not part of this conversation, so this was not sent.');
  });
});

import { parseCommandPayload, type CommandPayloadKind } from './chat-session.commands.js';

const sessionId = '0b5c4e59-6b53-4a0e-9d7e-2f7d3c1a9e01';
const messageId = '7a0d6c2e-1111-4c5e-8f00-000000000001';

function refusal(kind: CommandPayloadKind, payload: unknown): string {
  const result = parseCommandPayload(kind, payload);
  if (result.ok) throw new Error(`expected ${JSON.stringify(payload)} to be refused`);
  return result.message;
}

describe('parseCommandPayload', () => {
  it('accepts an open payload, trimming the subject and lower-casing the id', () => {
    const result = parseCommandPayload('open', {
      sessionId: sessionId.toUpperCase(),
      subject: '  Flat tyre ',
      reservationId: 'R-42',
      locale: 'en-GB',
    });
    expect(result).toStrictEqual({
      ok: true,
      value: { sessionId, subject: 'Flat tyre', reservationId: 'R-42', locale: 'en-GB' },
    });
  });

  it('accepts the empty payloads of join and leave', () => {
    expect(parseCommandPayload('join', {})).toStrictEqual({ ok: true, value: {} });
    expect(parseCommandPayload('leave', {})).toStrictEqual({ ok: true, value: {} });
  });

  it('accepts a message, a read receipt, a close and a rating', () => {
    const message = { messageId, body: 'Hello', attachmentUrl: 'https://cdn.example.com/p.png' };
    expect(parseCommandPayload('messages', message)).toStrictEqual({ ok: true, value: message });
    expect(parseCommandPayload('read', { upToMessageId: messageId })).toStrictEqual({
      ok: true,
      value: { upToMessageId: messageId },
    });
    expect(parseCommandPayload('close', {})).toStrictEqual({ ok: true, value: {} });
    expect(parseCommandPayload('close', { reason: ' Solved ' })).toStrictEqual({ ok: true, value: { reason: 'Solved' } });
    expect(parseCommandPayload('rating', { rating: 5, comment: 'Quick' })).toStrictEqual({
      ok: true,
      value: { rating: 5, comment: 'Quick' },
    });
  });

  it('refuses an unknown field, naming it', () => {
    expect(refusal('join', { foo: 1 })).toBe('unknown field: foo');
    expect(refusal('messages', { messageId, body: 'Hi', senderId: 'me' })).toBe('unknown field: senderId');
  });

  it('refuses an id that is not a UUID, naming the field', () => {
    expect(refusal('open', { sessionId: 'abc', subject: 'Flat tyre' })).toBe('sessionId: must be a UUID');
    expect(refusal('messages', { messageId: '42', body: 'Hi' })).toBe('messageId: must be a UUID');
    expect(refusal('read', { upToMessageId: 7 })).toBe('upToMessageId: must be a string');
  });

  it('names a missing field, and every fault at once', () => {
    expect(refusal('messages', { body: 'Hi' })).toBe('messageId: is required');
    expect(refusal('open', { sessionId: 'x', subject: ' ', bar: true })).toBe(
      'sessionId: must be a UUID; subject: must not be empty; unknown field: bar',
    );
  });

  it('refuses a subject that shows nothing', () => {
    expect(refusal('open', { sessionId, subject: '\u200b\u200b' })).toBe('subject: must not be empty');
  });

  it('refuses a payload that is not an object', () => {
    for (const payload of [null, [], 'hi', undefined]) {
      expect(refusal('close', payload)).toBe('payload: must be a JSON object');
    }
  });

  it('refuses a rating of 0, 6 or 2.5, and a rating as text', () => {
    for (const rating of [0, 6, 2.5]) {
      expect(refusal('rating', { rating })).toBe('rating: must be an integer from 1 to 5');
    }
    expect(refusal('rating', { rating: '5' })).toBe('rating: must be a number');
  });

  it('bounds the free texts', () => {
    expect(refusal('open', { sessionId, subject: 'x'.repeat(201) })).toBe('subject: must be at most 200 characters');
    expect(refusal('open', { sessionId, subject: 'ok', reservationId: 'r'.repeat(65) })).toBe(
      'reservationId: must be at most 64 characters',
    );
    expect(refusal('close', { reason: 'r'.repeat(501) })).toBe('reason: must be at most 500 characters');
    expect(refusal('rating', { rating: 1, comment: 'c'.repeat(2001) })).toBe('comment: must be at most 2000 characters');
    expect(refusal('close', { reason: 'bad \udc00' })).toBe('reason: must be valid Unicode text');
    expect(refusal('open', { sessionId, subject: 'nul \u0000' })).toBe('subject: must be valid Unicode text'); // PostgreSQL stores no NUL
  });

  it('counts characters as code points', () => {
    expect(parseCommandPayload('open', { sessionId, subject: '🚗'.repeat(200) }).ok).toBe(true);
  });

  it('refuses a locale that is not a language tag', () => {
    expect(refusal('open', { sessionId, subject: 'ok', locale: 'en GB' })).toBe('locale: must be a language tag such as en-GB');
  });

  it('leaves the body length rule to the decider, but bounds the work', () => {
    expect(parseCommandPayload('messages', { messageId, body: '' }).ok).toBe(true);
    expect(parseCommandPayload('messages', { messageId, body: 'b'.repeat(4001) }).ok).toBe(true);
    expect(refusal('messages', { messageId, body: 'b'.repeat(64 * 1024 + 1) })).toBe('body: must be at most 65536 characters');
  });

  it('accepts only http and https attachment urls of at most 2048 characters, of valid Unicode text', () => {
    expect(refusal('messages', { messageId, body: 'Hi', attachmentUrl: 'javascript:alert(1)' })).toBe(
      'attachmentUrl: must be an http or https URL',
    );
    expect(refusal('messages', { messageId, body: 'Hi', attachmentUrl: 'not a url' })).toBe(
      'attachmentUrl: must be an http or https URL',
    );
    // What the URL parser takes but no event could store (NUL) or hash (a lone surrogate).
    for (const attachmentUrl of ['https://example.com/\u0000', 'https://example.com/\ud800']) {
      expect(refusal('messages', { messageId, body: 'Hi', attachmentUrl })).toBe('attachmentUrl: must be valid Unicode text');
    }
    const long = `https://example.com/${'a'.repeat(2029)}`;
    expect(refusal('messages', { messageId, body: 'Hi', attachmentUrl: long })).toBe(
      'attachmentUrl: must be at most 2048 characters',
    );
  });
});

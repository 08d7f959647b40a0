import { OUTBOX_LIMIT } from './outbox.js';
import { destinations } from './protocol.js';

/** What a person is told when the server refuses something, by rejection code. */
const SENTENCES: Readonly<Record<string, string>> = {
  NOT_A_PARTICIPANT: 'You are not part of this conversation, so this was not sent.',
  SESSION_CLOSED: 'This conversation has been closed, so this was not sent.',
  INVALID_MESSAGE: 'This message cannot be sent: it has nothing to read, a broken character, or more than 4,000 characters.',
  RATING_NOT_ALLOWED: 'This conversation cannot be rated (it is still open, or it was rated already).',
  FORBIDDEN: 'You are not allowed to do this.',
  INVALID_COMMAND: 'The chat server did not understand this request.',
  UNKNOWN_DESTINATION: 'The chat server did not understand this request.',
  RATE_LIMITED: 'You are sending too fast; this will be sent again in a moment.',
  UNAVAILABLE: 'The chat service is having trouble; this will be sent again in a moment.',
};

/** What a person is told when the server refuses to open a session, by rejection code. */
const OPEN_SENTENCES: Readonly<Record<string, string>> = {
  RATE_LIMITED: 'You already have as many open chats as allowed; end one before starting another.',
};

/** What an agent is told when the server refuses to let them take a chat, by rejection code. */
const JOIN_SENTENCES: Readonly<Record<string, string>> = {
  NOT_A_PARTICIPANT: 'Another agent has taken this chat.',
  SESSION_CLOSED: 'This chat has been closed.',
};

/**
 * A sentence for a rejection code (and the server's own message for a code it does not know);
 * `destination`, when given, picks the sentence of a refused opening or of a refused take.
 */
export function describeRejection(code: string, serverMessage?: string, destination?: string): string {
  const specific = destination === destinations.open ? OPEN_SENTENCES : destination?.endsWith('/join') ? JOIN_SENTENCES : {};
  const sentence = specific[code] ?? SENTENCES[code];
  return sentence ?? (serverMessage ? `The chat server refused this: ${serverMessage}.` : 'The chat server refused this.');
}

/** What a person is told when what they wrote cannot be queued: the outbox is full (`OUTBOX_LIMIT`). */
export const OUTBOX_FULL = `${OUTBOX_LIMIT} messages are waiting to be sent already; what you wrote stays here until they have gone.`;

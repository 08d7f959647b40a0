/**
 * The STOMP destinations of the chat (DESIGN.md, "STOMP contract"), parsed into what they name.
 * Pure: whether the sender may use a destination is decided elsewhere.
 */
import type { CommandPayloadKind } from '../chat-session/chat-session.commands.js';

/** Where the inbox's session list changes are published (agents). */
export const INBOX_DESTINATION = '/topic/inbox';
/** Where a connection receives the rejections of its own frames. */
export const ERRORS_DESTINATION = '/user/queue/errors';

/** The destination of a session's events and typing indicators. */
export function sessionTopic(sessionId: string): string {
  return `/topic/chat/${sessionId}`;
}

/** What a SEND destination asks for. */
export type SendRoute =
  | { readonly kind: 'command'; readonly command: CommandPayloadKind; readonly sessionId?: string }
  | { readonly kind: 'typing'; readonly sessionId: string };

/** What a SUBSCRIBE destination names. */
export type SubscribeRoute =
  | { readonly kind: 'session'; readonly sessionId: string }
  | { readonly kind: 'inbox' }
  | { readonly kind: 'errors' };

const SESSION_COMMANDS: ReadonlySet<string> = new Set<CommandPayloadKind>(['join', 'leave', 'messages', 'read', 'close', 'rating']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The route of a SEND destination, or `undefined` when it names nothing (`UNKNOWN_DESTINATION`).
 * The session id is passed on as written: the command's validation says what is wrong with it.
 */
export function parseSendDestination(destination: string): SendRoute | undefined {
  if (destination === '/app/chat/open') return { kind: 'command', command: 'open' };
  const match = /^\/app\/chat\/([^/]+)\/([a-z]+)$/.exec(destination);
  if (!match) return undefined;
  const [, sessionId, action] = match as unknown as [string, string, string];
  if (action === 'typing') return { kind: 'typing', sessionId: sessionId.toLowerCase() };
  if (!SESSION_COMMANDS.has(action)) return undefined;
  return { kind: 'command', command: action as CommandPayloadKind, sessionId };
}

/**
 * The route of a SUBSCRIBE destination, or `undefined` when it names nothing. A session topic
 * whose id is not a UUID names no session that could exist: it is refused as forbidden, like
 * any session one may not see, so callers get `{ kind: 'session' }` for it too, with the id as
 * written; {@link isSessionId} tells them apart.
 */
export function parseSubscribeDestination(destination: string): SubscribeRoute | undefined {
  if (destination === INBOX_DESTINATION) return { kind: 'inbox' };
  if (destination === ERRORS_DESTINATION) return { kind: 'errors' };
  const match = /^\/topic\/chat\/([^/]+)$/.exec(destination);
  if (!match) return undefined;
  const sessionId = match[1]!;
  return { kind: 'session', sessionId: isSessionId(sessionId) ? sessionId.toLowerCase() : sessionId };
}

/** Whether `id` has the shape of a session id (a UUID). */
export function isSessionId(id: string): boolean {
  return UUID.test(id);
}

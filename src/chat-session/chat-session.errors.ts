/**
 * The chat session's business-rule rejections (DESIGN.md, "Stream and event catalog"). The edge
 * (STOMP, HTTP) maps them to responses in one place, by `code`, never by message text.
 */

/**
 * The stable code of a rejection, sent to clients as is:
 * - `NOT_A_PARTICIPANT`: the session does not exist, or the sender is neither its customer nor
 *   its assigned agent (one code for both, so an outsider learns nothing about the session);
 * - `SESSION_CLOSED`: the session is closed, nothing more can be sent to it;
 * - `INVALID_MESSAGE`: the body has nothing to read, is too long or is not valid text (the
 *   message says which), the message id is a stored message's and this is another message, or
 *   a read receipt names no message of the session;
 * - `RATING_NOT_ALLOWED`: only the customer may rate, only a closed session, only once;
 * - `INVALID_COMMAND`: the session id is another chat's, opened with another subject, reservation
 *   or locale (the contract's code for a command that cannot be what it says).
 */
export type RejectionCode = 'NOT_A_PARTICIPANT' | 'SESSION_CLOSED' | 'INVALID_MESSAGE' | 'RATING_NOT_ALLOWED' | 'INVALID_COMMAND';

/** A command refused by `decide`: nothing was appended. The message is for humans. */
export class ChatSessionRejected extends Error {
  override readonly name = 'ChatSessionRejected';

  constructor(
    readonly code: RejectionCode,
    message: string,
  ) {
    super(message);
  }
}

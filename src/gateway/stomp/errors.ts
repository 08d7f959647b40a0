/**
 * Violations of the STOMP 1.2 wire format found while reading a client's bytes. The connection
 * answers one with an ERROR frame (its `message` header is the error's message) and closes
 * (DESIGN.md, "STOMP contract").
 */

/**
 * The stable class of a violation, for metrics and logs (clients only see the message):
 * - `FRAME_TOO_LARGE`: the frame passed `maxFrameBytes`;
 * - `TOO_MANY_HEADERS`: the frame has more than `maxHeaders` header lines;
 * - `HEADER_LINE_TOO_LONG`: a header line is longer than `maxHeaderLineBytes`;
 * - `TOO_MANY_FRAMES`: a chunk completes more than `maxFramesPerChunk` frames;
 * - `UNKNOWN_COMMAND`: the command line is not one of the client commands;
 * - `MALFORMED_FRAME`: anything else the grammar does not allow.
 */
export type StompProtocolErrorCode =
  | 'FRAME_TOO_LARGE'
  | 'TOO_MANY_HEADERS'
  | 'HEADER_LINE_TOO_LONG'
  | 'TOO_MANY_FRAMES'
  | 'UNKNOWN_COMMAND'
  | 'MALFORMED_FRAME';

/** A fatal protocol violation: the parser accepts nothing more from this connection. */
export class StompProtocolError extends Error {
  override readonly name = 'StompProtocolError';

  constructor(
    readonly code: StompProtocolErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A `MALFORMED_FRAME` error, the most common kind. */
export function malformed(message: string): StompProtocolError {
  return new StompProtocolError('MALFORMED_FRAME', message);
}

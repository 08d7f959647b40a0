/**
 * The STOMP 1.2 frames the gateway exchanges (https://stomp.github.io/stomp-specification-1.2.html):
 * what a client may send, what the server sends, and the limits that bound a connection's memory.
 */
import { isUtf8 } from 'node:buffer';

/** Every command a client may send; anything else is a protocol error. */
export const CLIENT_COMMANDS = [
  'CONNECT',
  'STOMP',
  'SEND',
  'SUBSCRIBE',
  'UNSUBSCRIBE',
  'ACK',
  'NACK',
  'BEGIN',
  'COMMIT',
  'ABORT',
  'DISCONNECT',
] as const;

/** A command a client may send. `STOMP` is the STOMP 1.2 name of `CONNECT`. */
export type ClientCommand = (typeof CLIENT_COMMANDS)[number];

/**
 * A frame as read from a client. Header names and values are unescaped (except in CONNECT and
 * STOMP frames, which STOMP 1.2 leaves raw for 1.0 clients); of a repeated header only the
 * first value is kept, as the specification asks. The body is raw bytes: read it with `bodyText`.
 */
export interface StompClientFrame {
  readonly command: ClientCommand;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
}

/** The body as text, or `undefined` when it is not valid UTF-8 (STOMP's default encoding). */
export function bodyText(frame: StompClientFrame): string | undefined {
  return isUtf8(frame.body) ? frame.body.toString('utf8') : undefined;
}

/**
 * Headers of a server frame, written in this order. `content-length` is not among them: the
 * serializer computes it from the body, so it can never disagree with it.
 */
export type StompServerHeaders = Readonly<Record<string, string>> & { readonly 'content-length'?: never };

/**
 * A frame the server sends. Only MESSAGE and ERROR may carry a body (STOMP 1.2, "Body"); the
 * gateway's bodies are JSON or plain text, hence a string.
 */
export type StompServerFrame =
  | { readonly command: 'CONNECTED' | 'RECEIPT'; readonly headers: StompServerHeaders }
  | { readonly command: 'MESSAGE' | 'ERROR'; readonly headers: StompServerHeaders; readonly body?: string };

/**
 * What one client frame may take, so that a connection's memory stays bounded whatever it sends.
 * A frame counts every byte from its command to its terminating NUL (heart-beats excluded).
 */
export interface StompLimits {
  /** Largest frame, headers and body together, in bytes (`STOMP_MAX_FRAME_BYTES`). */
  readonly maxFrameBytes: number;
  /** Most header lines in one frame, repeated ones included. */
  readonly maxHeaders: number;
  /** Longest header line in bytes, its end of line excluded. */
  readonly maxHeaderLineBytes: number;
  /**
   * Most frames one chunk may complete (for the gateway, one WebSocket message): a message of
   * tiny frames would otherwise make objects worth some 40 times its bytes at once.
   */
  readonly maxFramesPerChunk: number;
}

/**
 * 64 KiB frames, 100 headers, 16 KiB header lines, 1,000 frames a chunk: far above what the chat
 * needs (`@stomp/stompjs` sends one frame a WebSocket message). A header line takes a token as
 * large as Node's HTTP server takes in all of a request's headers (16 KiB): a token that the HTTP
 * API accepts connects too, an identity provider's with many roles or groups included.
 */
export const DEFAULT_STOMP_LIMITS: StompLimits = {
  maxFrameBytes: 64 * 1024,
  maxHeaders: 100,
  maxHeaderLineBytes: 16 * 1024,
  maxFramesPerChunk: 1000,
};

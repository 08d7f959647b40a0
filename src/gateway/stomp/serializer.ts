/**
 * Writes the server's STOMP frames. The result is a string, to be sent as a WebSocket text
 * message: every body the gateway sends is JSON or plain text, text messages stay readable in a
 * browser's developer tools, and the WebSocket layer encodes the string to UTF-8 exactly once.
 * `content-length` counts those UTF-8 bytes, so a body may even contain NUL.
 */
import type { StompServerFrame, StompServerHeaders } from './frame.js';
import { headerEscaping } from './header-escaping.js';
import type { StompVersion } from './version.js';

/** A heart-beat: one end of line, sent between frames. */
export const HEARTBEAT = '\n';

/**
 * The frame on the wire: command, headers (escaped as `version` escapes them, except in
 * CONNECTED), `content-length` when there is a body, a blank line, the body and NUL.
 * @throws RangeError on an empty header name, on a CONNECTED header that escaping would have to
 * protect (a CR or LF anywhere, a colon in a name): writing it raw would forge headers, and on a
 * header that `version` cannot write (see `headerEscaping`).
 */
export function serializeFrame(frame: StompServerFrame, version: StompVersion): string {
  let text = `${frame.command}\n`;
  text += frame.command === 'CONNECTED' ? verbatimHeaders(frame.headers) : escapedHeaders(frame.headers, version);
  const body = 'body' in frame ? frame.body : undefined;
  if (body === undefined) return `${text}\n\0`;
  return `${text}content-length:${Buffer.byteLength(body, 'utf8')}\n\n${body}\0`;
}

function escapedHeaders(headers: StompServerHeaders, version: StompVersion): string {
  const { escape } = headerEscaping(version);
  let text = '';
  for (const [name, value] of Object.entries(headers)) {
    requireName(name);
    text += `${escape(name)}:${escape(value)}\n`;
  }
  return text;
}

/** No version escapes CONNECTED, for 1.0 clients. */
function verbatimHeaders(headers: StompServerHeaders): string {
  let text = '';
  for (const [name, value] of Object.entries(headers)) {
    requireName(name);
    if (/[\r\n:]/.test(name) || /[\r\n]/.test(value)) {
      throw new RangeError(`CONNECTED header ${JSON.stringify(name)} cannot be written unescaped`);
    }
    text += `${name}:${value}\n`;
  }
  return text;
}

function requireName(name: string): void {
  if (name === '') throw new RangeError('a STOMP header needs a name');
}

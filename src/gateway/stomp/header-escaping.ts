/**
 * STOMP 1.2 header escaping ("Value Encoding"): in header names and values, a backslash starts
 * one of four escapes, `\r`, `\n`, `\c` (colon) and `\\`. Any other escape is a fatal protocol
 * error. CONNECT, STOMP and CONNECTED frames are not escaped, so that 1.0 peers understand them.
 */
import { malformed } from './errors.js';

const decoded: Readonly<Record<string, string>> = { r: '\r', n: '\n', c: ':', '\\': '\\' };
const encoded: Readonly<Record<string, string>> = { '\r': '\\r', '\n': '\\n', ':': '\\c', '\\': '\\\\' };
const needsEscaping = /[\r\n:\\]/g;

/**
 * Decodes the escapes of a received header name or value.
 * @throws StompProtocolError (`MALFORMED_FRAME`) on an undefined escape or a trailing backslash.
 */
export function unescapeHeader(text: string): string {
  let backslash = text.indexOf('\\');
  if (backslash === -1) return text;
  let result = '';
  let from = 0;
  while (backslash !== -1) {
    result += text.slice(from, backslash) + decodeEscape(text, backslash + 1);
    from = backslash + 2;
    backslash = text.indexOf('\\', from);
  }
  return result + text.slice(from);
}

/** The character the escape whose letter is at `index` stands for. */
function decodeEscape(text: string, index: number): string {
  const character = decoded[text.charAt(index)];
  if (character !== undefined) return character;
  const letter = text.codePointAt(index);
  if (letter === undefined) throw malformed('header ends with an unfinished escape sequence');
  throw malformed(`undefined escape sequence \\${printable(letter)} in a header`);
}

/** The character itself when it is visible ASCII, else its code point, as in `<U+000D>`. */
function printable(codePoint: number): string {
  if (codePoint > 0x20 && codePoint < 0x7f) return String.fromCodePoint(codePoint);
  return `<U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}>`;
}

/** Encodes a header name or value for a frame other than CONNECTED. */
export function escapeHeader(text: string): string {
  return text.replace(needsEscaping, (character) => encoded[character] ?? character);
}

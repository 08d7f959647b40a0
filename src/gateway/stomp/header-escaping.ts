/**
 * Header escaping ("Value Encoding"), as the agreed version has it:
 * - STOMP 1.2: in header names and values, a backslash starts one of four escapes, `\r`, `\n`,
 *   `\c` (colon) and `\\`;
 * - STOMP 1.1: the same without `\r`;
 * - STOMP 1.0: none; a backslash is itself.
 * Any other escape is a fatal protocol error. CONNECT, STOMP and CONNECTED frames are not escaped
 * in any version, so that 1.0 peers understand them.
 */
import { malformed } from './errors.js';
import type { StompVersion } from './version.js';

/** How one version reads and writes header names and values. */
export interface HeaderEscaping {
  /**
   * Decodes the escapes of a received header name or value.
   * @throws StompProtocolError (`MALFORMED_FRAME`) on an undefined escape or a trailing backslash.
   */
  readonly unescape: (text: string) => string;
  /**
   * Encodes a header name or value for a frame other than CONNECTED.
   * @throws RangeError on a character the version cannot write (CR in 1.1; CR or LF in 1.0).
   */
  readonly escape: (text: string) => string;
}

const STOMP_1_2 = escapes('1.2', { r: '\r', n: '\n', c: ':', '\\': '\\' }, /[\r\n:\\]/g);
const STOMP_1_1 = escapes('1.1', { n: '\n', c: ':', '\\': '\\' }, /[\n:\\]/g, /\r/);
const STOMP_1_0: HeaderEscaping = { unescape: verbatim, escape: (text) => writable('1.0', text, /[\r\n]/) };

/** The header escaping of a version. */
export function headerEscaping(version: StompVersion): HeaderEscaping {
  switch (version) {
    case '1.2':
      return STOMP_1_2;
    case '1.1':
      return STOMP_1_1;
    case '1.0':
      return STOMP_1_0;
  }
}

/** Header names and values written or read as they are (CONNECT, STOMP, CONNECTED, and 1.0). */
export function verbatim(text: string): string {
  return text;
}

/**
 * The escaping of `version`: its escapes (the letter after the backslash, and the character it
 * stands for); `needsEscaping` finds the characters that have one, `unwritable` those that have
 * none, if any.
 */
function escapes(version: StompVersion, decoded: Readonly<Record<string, string>>, needsEscaping: RegExp, unwritable?: RegExp): HeaderEscaping {
  const encoded: Readonly<Record<string, string>> = Object.fromEntries(
    Object.entries(decoded).map(([letter, character]) => [character, `\\${letter}`]),
  );
  const encode = (character: string) => encoded[character] ?? character;
  return {
    unescape: (text) => {
      let backslash = text.indexOf('\\');
      if (backslash === -1) return text;
      let result = '';
      let from = 0;
      while (backslash !== -1) {
        result += text.slice(from, backslash) + decodeEscape(decoded, text, backslash + 1);
        from = backslash + 2;
        backslash = text.indexOf('\\', from);
      }
      return result + text.slice(from);
    },
    escape: unwritable === undefined
      ? (text) => text.replace(needsEscaping, encode)
      : (text) => writable(version, text, unwritable).replace(needsEscaping, encode),
  };
}

/** The character the escape whose letter is at `index` stands for. */
function decodeEscape(decoded: Readonly<Record<string, string>>, text: string, index: number): string {
  const character = decoded[text.charAt(index)];
  if (character !== undefined) return character;
  const letter = text.codePointAt(index);
  if (letter === undefined) throw malformed('header ends with an unfinished escape sequence');
  throw malformed(`undefined escape sequence \\${printable(letter)} in a header`);
}

/** `text`, unless it holds a character that `version` cannot write in a header. */
function writable(version: StompVersion, text: string, unwritable: RegExp): string {
  if (unwritable.test(text)) throw new RangeError(`STOMP ${version} cannot write the header text ${JSON.stringify(text)}`);
  return text;
}

/** The character itself when it is visible ASCII, else its code point, as in `<U+000D>`. */
function printable(codePoint: number): string {
  if (codePoint > 0x20 && codePoint < 0x7f) return String.fromCodePoint(codePoint);
  return `<U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}>`;
}

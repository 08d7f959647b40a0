/**
 * Text rules shared by the command schemas and the decider. Lengths are counted in Unicode code
 * points, as a person counts characters ("😀" is one, not two UTF-16 units).
 */

/** The number of Unicode code points in `text`. */
export function characterCount(text: string): number {
  return [...text].length;
}

// With the `u` flag a well-formed surrogate pair is one code point, so only lone halves match.
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Whether `text` is valid Unicode (no lone UTF-16 surrogate) without a NUL character. A lone
 * surrogate cannot be put in RFC 8785 canonical JSON, so it could not be hashed into the chain;
 * PostgreSQL stores no NUL, in `jsonb` (the event store) or `text` (the read models), so such a
 * command would fail at the append, forever.
 */
export function isWellFormedText(text: string): boolean {
  return !LONE_SURROGATE.test(text) && !text.includes('\u0000');
}

// Anything but white space, controls (Cc) and format characters (Cf: zero-width spaces and
// joiners, bidirectional marks and overrides).
const VISIBLE = /[^\s\p{Cc}\p{Cf}]/u;

/**
 * Whether `text` has a character a reader can see. A message of zero-width spaces or of a bell
 * character has characters, and shows nothing.
 */
export function hasVisibleText(text: string): boolean {
  return VISIBLE.test(text);
}

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
 * Whether `text` is valid Unicode (no lone UTF-16 surrogate). Such text cannot be put in RFC 8785
 * canonical JSON, so it could not be hashed into the chain.
 */
export function isWellFormedText(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

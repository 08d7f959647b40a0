/**
 * Cutting text for display without cutting a character in half. `String.prototype.slice` counts
 * UTF-16 units: an emoji (two units) across the cut would leave half of it, a lone surrogate,
 * drawn as a replacement glyph.
 */

/** The first `max` code points of `text`: the server's unit for what it stores cut (previews). */
export function firstCodePoints(text: string, max: number): string {
  // No more UTF-16 units than that: no more code points either, nothing to cut.
  return text.length <= max ? text : [...text].slice(0, max).join('');
}

const graphemes = typeof Intl.Segmenter === 'function' ? new Intl.Segmenter(undefined, { granularity: 'grapheme' }) : undefined;

/**
 * `text` cut after `max` user-perceived characters (grapheme clusters: a flag, a family emoji, a
 * letter with its accents stay whole), with "…" when cut. Code points where `Intl.Segmenter` is missing.
 */
export function shortened(text: string, max: number): string {
  if (text.length <= max) return text;
  const kept = graphemes ? Array.from(graphemes.segment(text), ({ segment }) => segment) : [...text];
  return kept.length <= max ? text : `${kept.slice(0, max).join('')}…`;
}

import { html, nothing, type TemplateResult } from 'lit';
import { characterCount, hasVisibleText } from '../../src/chat-session/text.js';

/**
 * What the server takes in a field people write (DESIGN.md; the command schemas and the
 * decider): the trimmed text, `max` characters at most as it counts them (Unicode code points,
 * an emoji one), and, where `required`, something to read (not only white space and invisible
 * characters such as zero-width spaces). Not an input's `maxlength`, which counts UTF-16 units
 * (an emoji two) and cuts what is pasted past it without a word.
 */
export interface TextRule {
  /** What the field holds, as a sentence names it. */
  readonly noun: string;
  readonly max: number;
  readonly required: boolean;
}

/** A message's body (the decider's `MAX_BODY_CHARACTERS`). */
export const MESSAGE: TextRule = { noun: 'message', max: 4000, required: true };
/** A chat's subject (the `open` command's schema). */
export const SUBJECT: TextRule = { noun: 'subject', max: 200, required: true };
/** A rating's comment (the `rating` command's schema), which may be left out. */
export const COMMENT: TextRule = { noun: 'comment', max: 2000, required: false };

const count = (characters: number) => characters.toLocaleString('en');

/** Why `draft` cannot be sent, in a sentence: it is longer than `rule` allows. */
export function tooLong(draft: string, rule: TextRule): string | undefined {
  const characters = characterCount(draft.trim());
  if (characters <= rule.max) return undefined;
  return `This ${rule.noun} is too long to send: ${count(characters)} characters, ${count(rule.max)} at most.`;
}

/** {@link tooLong}'s sentence when `draft`, `before` that edit, has just become too long: to announce once. */
export function newlyTooLong(before: string, draft: string, rule: TextRule): string | undefined {
  return tooLong(before, rule) === undefined ? tooLong(draft, rule) : undefined;
}

/**
 * The text to send of `draft` (trimmed, as the server stores it; '' for an optional field left
 * blank); none where the server would refuse it: too long, or blank where `rule` requires text.
 */
export function acceptedText(draft: string, rule: TextRule): string | undefined {
  const text = draft.trim();
  if (tooLong(text, rule) !== undefined) return undefined;
  return rule.required && !hasVisibleText(text) ? undefined : text;
}

/**
 * The note that says why a field's text is too long (`problem`), to show beside it with the id
 * `id`: the field then has `aria-invalid="true"` and `aria-describedby` naming it.
 */
export function problemNote(id: string, problem: string | undefined): TemplateResult | typeof nothing {
  return problem ? html`<p class="status error" id=${id}>${problem}</p>` : nothing;
}

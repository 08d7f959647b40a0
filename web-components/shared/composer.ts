import { html, nothing, type TemplateResult } from 'lit';
import { hasVisibleText } from '../../src/chat-session/text.js';

/**
 * The longest message the server stores, in characters: Unicode code points of the trimmed text
 * (DESIGN.md; the decider's `MAX_BODY_CHARACTERS`), an emoji one. Not a text area's `maxlength`,
 * which counts UTF-16 units (an emoji two) and cuts what is pasted past it without a word.
 */
export const MAX_MESSAGE_CHARACTERS = 4000;

const count = (characters: number) => characters.toLocaleString('en');

/** Why `draft` cannot be sent, in a sentence: its length is not one the server takes. */
export function tooLong(draft: string): string | undefined {
  const characters = [...draft.trim()].length;
  if (characters <= MAX_MESSAGE_CHARACTERS) return undefined;
  return `This message is too long to send: ${count(characters)} characters, ${count(MAX_MESSAGE_CHARACTERS)} at most.`;
}

/** {@link tooLong}'s sentence when `draft`, `before` that edit, has just become too long: to announce once. */
export function newlyTooLong(before: string, draft: string): string | undefined {
  return tooLong(before) === undefined ? tooLong(draft) : undefined;
}

/**
 * The message to send of `draft` (trimmed, as the server stores it); none when the server would
 * refuse it: too long, or blank (only white space and invisible characters, such as zero-width spaces).
 */
export function messageOf(draft: string): string | undefined {
  const body = draft.trim();
  return !hasVisibleText(body) || tooLong(body) !== undefined ? undefined : body;
}

export interface ComposerOptions {
  /** The text area's accessible name. */
  readonly label: string;
  readonly placeholder: string;
  readonly draft: string;
  readonly onInput: (event: InputEvent) => void;
  /** Enter (without Shift, not while composing) or the Send button. */
  readonly onSend: (event: Event) => void;
}

/**
 * A message form: a text area and its Send button, and above them, while the draft is too long,
 * why (the text area then invalid, described by it). Send is disabled while the draft is one the
 * server would refuse (too long, or nothing to read). Nothing typed or pasted is cut.
 */
export function composer({ label, placeholder, draft, onInput, onSend }: ComposerOptions): TemplateResult {
  const problem = tooLong(draft);
  return html`
    ${problem ? html`<p class="status error" id="composer-problem">${problem}</p>` : nothing}
    <form class="composer" part="composer" @submit=${onSend}>
      <textarea
        part="input"
        rows="2"
        aria-label=${label}
        aria-invalid=${problem ? 'true' : nothing}
        aria-describedby=${problem ? 'composer-problem' : nothing}
        placeholder=${placeholder}
        .value=${draft}
        @input=${onInput}
        @keydown=${(event: KeyboardEvent) => {
          if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) onSend(event);
        }}
      ></textarea>
      <button class="primary" type="submit" part="send-button" ?disabled=${messageOf(draft) === undefined}>Send</button>
    </form>
  `;
}

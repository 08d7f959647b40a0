import { html, nothing, type TemplateResult } from 'lit';
import { acceptedText, MESSAGE, problemNote, tooLong } from './text-field.js';

/** The message to send of `draft` (trimmed, as the server stores it); none when the server would refuse it. */
export function messageOf(draft: string): string | undefined {
  return acceptedText(draft, MESSAGE);
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
  const problem = tooLong(draft, MESSAGE);
  return html`
    ${problemNote('composer-problem', problem)}
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

import { css } from 'lit';

/**
 * What every component shares: its theme as custom properties (each overridable from the host
 * page), a focus ring, buttons, and the visually hidden live regions.
 */
export const baseStyles = css`
  :host {
    --_accent: var(--parley-accent, #0a58ca);
    --_accent-contrast: var(--parley-accent-contrast, #ffffff);
    --_surface: var(--parley-surface, #ffffff);
    --_surface-alt: var(--parley-surface-alt, #f1f3f6);
    --_text: var(--parley-text, #1b1f24);
    --_muted: var(--parley-muted, #545d69);
    --_border: var(--parley-border, #c9d0d8);
    --_danger: var(--parley-danger, #b3261e);
    --_success: var(--parley-success, #146c2e);
    --_radius: var(--parley-radius, 12px);
    --_font: var(--parley-font-family, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif);
    --_focus: var(--parley-focus-ring, 0 0 0 3px color-mix(in srgb, var(--_accent) 45%, transparent));
    font-family: var(--_font);
    font-size: var(--parley-font-size, 14px);
    line-height: 1.4;
    color: var(--_text);
    /* What else a host page's body passes down to text, reset: the components look alike on any page. */
    font-style: normal;
    font-weight: normal;
    font-variant: normal;
    letter-spacing: normal;
    word-spacing: normal;
    text-align: start;
    text-indent: 0;
    text-transform: none;
    text-shadow: none;
    white-space: normal;
  }
  *, *::before, *::after { box-sizing: border-box; }
  [hidden] { display: none !important; }
  button, input, textarea, select { font: inherit; color: inherit; }
  button {
    cursor: pointer;
    border: 1px solid var(--_border);
    background: var(--_surface);
    border-radius: calc(var(--_radius) / 2);
    padding: 0.35em 0.8em;
  }
  button.primary { background: var(--_accent); border-color: var(--_accent); color: var(--_accent-contrast); }
  button:disabled { cursor: not-allowed; opacity: 0.6; }
  :focus-visible { outline: none; box-shadow: var(--_focus); }
  .visually-hidden {
    position: absolute !important; width: 1px; height: 1px; padding: 0; margin: -1px;
    overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0;
  }
  .status { margin: 0; padding: 0.4em 0.8em; font-size: 0.9em; background: #fff4d6; color: #5c4400; }
  .status.error { background: #fde7e6; color: var(--_danger); }
  .status button { margin-inline-start: 0.5em; padding: 0.1em 0.6em; }
  .error-text { color: var(--_danger); font-size: 0.85em; margin: 0.2em 0 0; }
  ol.lines { list-style: none; margin: 0; padding: 0.75em; display: flex; flex-direction: column; gap: 0.5em; }
  .line { max-width: 85%; display: flex; flex-direction: column; }
  .line.own { align-self: flex-end; align-items: flex-end; }
  .line.other { align-self: flex-start; align-items: flex-start; }
  .line.system { align-self: center; max-width: 100%; color: var(--_muted); font-size: 0.85em; text-align: center; }
  .bubble { padding: 0.45em 0.75em; border-radius: var(--_radius); white-space: pre-wrap; overflow-wrap: anywhere; }
  /*
   * What people wrote takes its direction from its own first strong letter, each paragraph of it,
   * not from the page's: an Arabic or Hebrew message reads right to left (its final "!" at its
   * left end) in a left-to-right page, and an English one left to right in a right-to-left page.
   */
  .bubble, .subject, .preview { unicode-bidi: plaintext; text-align: start; }
  .own .bubble { background: var(--_accent); color: var(--_accent-contrast); border-end-end-radius: 4px; }
  .other .bubble { background: var(--_surface-alt); color: var(--_text); border-end-start-radius: 4px; }
  .failed .bubble { background: var(--_surface); color: var(--_text); border: 1px dashed var(--_danger); }
  .meta { font-size: 0.75em; color: var(--_muted); margin-top: 0.15em; display: flex; gap: 0.4em; }
  .sender { font-size: 0.8em; color: var(--_muted); margin-bottom: 0.1em; }
  .typing { margin: 0; padding: 0 0.9em 0.4em; font-size: 0.85em; color: var(--_muted); font-style: italic; min-height: 1.6em; }
`;

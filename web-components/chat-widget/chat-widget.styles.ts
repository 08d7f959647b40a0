import { css } from 'lit';
import { baseStyles } from '../shared/styles.js';

export default [
  baseStyles,
  css`
    :host {
      position: fixed;
      inset-block-end: var(--parley-offset, 20px);
      inset-inline-end: var(--parley-offset, 20px);
      z-index: var(--parley-z-index, 1000);
      display: flex;
      flex-direction: column;
      align-items: flex-end;
      gap: 12px;
    }
    :host([inline]) { position: static; }

    .launcher {
      display: inline-flex;
      align-items: center;
      gap: 0.5em;
      border-radius: 999px;
      padding: 0.75em 1.2em;
      background: var(--_accent);
      border-color: var(--_accent);
      color: var(--_accent-contrast);
      font-weight: 600;
      box-shadow: 0 4px 14px rgb(0 0 0 / 0.2);
    }
    .badge {
      background: var(--_surface);
      color: var(--_accent);
      border-radius: 999px;
      min-width: 1.6em;
      padding: 0 0.4em;
      font-size: 0.85em;
      text-align: center;
    }

    .panel {
      width: min(var(--parley-panel-width, 360px), calc(100vw - 2 * var(--parley-offset, 20px)));
      height: min(var(--parley-panel-height, 540px), calc(100vh - 110px));
      background: var(--_surface);
      border: 1px solid var(--_border);
      border-radius: var(--_radius);
      box-shadow: 0 12px 32px rgb(0 0 0 / 0.18);
      display: flex;
      flex-direction: column;
      overflow: hidden;
    }
    .header {
      display: flex;
      align-items: center;
      gap: 0.5em;
      padding: 0.7em 0.9em;
      background: var(--_accent);
      color: var(--_accent-contrast);
    }
    /* As narrow as the header leaves it, a long word (an email address) broken: the button beside stays in sight. */
    .header h2 { font-size: 1.05em; margin: 0; flex: 1; min-width: 0; overflow-wrap: anywhere; }
    .header .subject { display: block; font-size: 0.8em; font-weight: normal; opacity: 0.95; }
    .header button { background: transparent; color: inherit; border-color: color-mix(in srgb, currentColor 50%, transparent); }
    .scroll { flex: 1; overflow-y: auto; }
    .note { color: var(--_muted); font-size: 0.85em; text-align: center; margin: 0.5em 1em; }

    form.start, form.rating, .done { padding: 1em; display: flex; flex-direction: column; gap: 0.75em; }
    label { font-weight: 600; }
    input[type='text'], textarea {
      width: 100%;
      border: 1px solid var(--_border);
      border-radius: calc(var(--_radius) / 2);
      padding: 0.5em 0.6em;
      background: var(--_surface);
    }
    textarea { resize: none; }

    form.composer {
      display: flex;
      gap: 0.5em;
      align-items: flex-end;
      padding: 0.6em;
      border-top: 1px solid var(--_border);
    }
    form.composer textarea { flex: 1; max-height: 8em; }
    .actions { display: flex; justify-content: space-between; padding: 0 0.6em 0.6em; }

    fieldset { border: none; padding: 0; margin: 0; }
    legend { font-weight: 600; margin-bottom: 0.4em; }
    .stars { display: flex; gap: 0.15em; }
    .stars input { position: absolute; opacity: 0; width: 1px; height: 1px; }
    /* The stars not chosen: 3.7:1 on white, for a control one must see (WCAG 1.4.11). */
    .stars label { font-size: 1.9em; font-weight: normal; color: var(--parley-star-off-color, #7d8590); cursor: pointer; line-height: 1; }
    .stars label.on { color: var(--parley-star-color, #a15c00); }
    .stars input:focus-visible + label { box-shadow: var(--_focus); border-radius: 4px; }
    .row { display: flex; gap: 0.5em; }
  `,
];

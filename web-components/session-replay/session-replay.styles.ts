import { css } from 'lit';
import { baseStyles } from '../shared/styles.js';

export default [
  baseStyles,
  css`
    :host {
      display: block;
      border: 1px solid var(--_border);
      border-radius: var(--_radius);
      background: var(--_surface);
      overflow: hidden;
    }
    .top { padding: 0.8em 1em; border-bottom: 1px solid var(--_border); display: flex; flex-wrap: wrap; gap: 0.5em 1em; align-items: center; }
    .top h2 { margin: 0; font-size: 1.1em; flex: 1; min-width: 12em; }
    .top .id { display: block; font-size: 0.8em; font-weight: normal; color: var(--_muted); font-family: ui-monospace, monospace; }
    .verdict { margin: 0; padding: 0.35em 0.8em; border-radius: 999px; font-weight: 600; font-size: 0.9em; }
    .verdict.ok { background: #e3f4e8; color: var(--_success); }
    .verdict.broken { background: #fde7e6; color: var(--_danger); }
    .verdict.unknown, .verdict.unchecked { background: var(--_surface-alt); color: var(--_muted); }
    /* The long verdicts: a line of their own, under the title. */
    .verdict.unchecked, .verdict.disagree { order: 1; flex-basis: 100%; border-radius: calc(var(--_radius) / 2); font-weight: normal; }
    .verdict.disagree { background: #fde7e6; color: var(--_danger); border: 2px solid var(--_danger); }
    .verdict.disagree strong { display: block; }
    .scrubber { padding: 0.8em 1em; border-bottom: 1px solid var(--_border); display: grid; gap: 0.3em; }
    .scrubber label { font-weight: 600; }
    .scrubber input { width: 100%; accent-color: var(--_accent); }
    .scrubber output { color: var(--_muted); font-size: 0.9em; }
    /*
     * The events beside the session (widths 1 : 1.2, at least 16em and 18em), or above it where the
     * replay is narrower than that (a phone): each as high as --parley-replay-height. The 1px gap
     * between them shows the border's colour.
     */
    .body { display: flex; flex-wrap: wrap; gap: 1px; background: var(--_border); }
    .body > * { height: var(--parley-replay-height, 520px); overflow-y: auto; background: var(--_surface); }
    .timeline { flex: 1 1 0; min-width: min(16em, 100%); }
    section[part='state'] { flex: 1.2 1 0; min-width: min(18em, 100%); }
    h3 { font-size: 0.8em; text-transform: uppercase; letter-spacing: 0.04em; color: var(--_muted); margin: 0.8em 1em 0.4em; }
    ol.events { list-style: none; margin: 0; padding: 0 0.5em 0.8em; display: flex; flex-direction: column; gap: 0.25em; }
    .event { width: 100%; text-align: start; display: grid; grid-template-columns: auto 1fr; gap: 0 0.6em; padding: 0.4em 0.6em; }
    .event .rev { font-family: ui-monospace, monospace; color: var(--_muted); grid-row: span 4; }
    .event .type { font-weight: 600; }
    .event .actor, .event time, .event .hash { font-size: 0.82em; color: var(--_muted); }
    .event .hash { font-family: ui-monospace, monospace; }
    .event.future { background: var(--_surface-alt); border-style: dashed; }
    .event.future .type { font-weight: normal; }
    .event[aria-current='true'] { border-color: var(--_accent); box-shadow: inset 3px 0 0 var(--_accent); }
    .event.broken { border-color: var(--_danger); }
    .facts { margin: 0 1em; display: grid; grid-template-columns: auto 1fr; gap: 0.2em 0.8em; font-size: 0.9em; }
    .facts dt { color: var(--_muted); }
    /* A subject, an agent's name, a rating's comment: each in its own direction (shared/styles.ts). */
    .facts dd { margin: 0; unicode-bidi: plaintext; text-align: start; }
    .message { padding: 1em; color: var(--_muted); }
  `,
];

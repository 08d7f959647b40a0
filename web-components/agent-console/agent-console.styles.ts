import { css } from 'lit';
import { baseStyles } from '../shared/styles.js';

export default [
  baseStyles,
  css`
    :host {
      display: block;
      height: var(--parley-console-height, 640px);
      border: 1px solid var(--_border);
      border-radius: var(--_radius);
      background: var(--_surface);
      overflow: hidden;
    }
    .layout { display: grid; grid-template-columns: var(--parley-inbox-width, 300px) 1fr; height: 100%; }
    .layout > * { min-height: 0; }
    nav.inbox { border-inline-end: 1px solid var(--_border); overflow-y: auto; background: var(--_surface-alt); }
    .who { padding: 0.7em 0.9em; border-bottom: 1px solid var(--_border); font-size: 0.9em; }
    nav h2 { font-size: 0.8em; text-transform: uppercase; letter-spacing: 0.04em; margin: 0.9em 0.9em 0.3em; color: var(--_muted); }
    nav ul { list-style: none; margin: 0; padding: 0 0.5em; display: flex; flex-direction: column; gap: 0.3em; }
    .item {
      width: 100%;
      text-align: start;
      display: grid;
      grid-template-columns: 1fr auto;
      gap: 0.1em 0.5em;
      padding: 0.5em 0.6em;
      background: var(--_surface);
    }
    .item[aria-current='true'] { border-color: var(--_accent); box-shadow: inset 3px 0 0 var(--_accent); }
    .item .subject { font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
    .item .preview, .item .who-line { grid-column: 1 / -1; font-size: 0.85em; color: var(--_muted); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
    .unread, .back .count { background: var(--_accent); color: var(--_accent-contrast); border-radius: 999px; padding: 0 0.5em; font-size: 0.8em; align-self: start; }
    .empty { color: var(--_muted); font-size: 0.85em; margin: 0.2em 1em; }

    .workspace { display: flex; flex-direction: column; min-width: 0; }
    [role='tablist'] { display: flex; gap: 0.25em; padding: 0.5em 0.5em 0; border-bottom: 1px solid var(--_border); overflow-x: auto; }
    [role='tab'] { border-end-start-radius: 0; border-end-end-radius: 0; border-bottom: none; white-space: nowrap; max-width: 14em; overflow: hidden; text-overflow: ellipsis; }
    [role='tab'][aria-selected='true'] { background: var(--_accent); border-color: var(--_accent); color: var(--_accent-contrast); }
    .pane { flex: 1; display: flex; flex-direction: column; min-height: 0; }
    .pane-header { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5em; padding: 0.6em 0.8em; border-bottom: 1px solid var(--_border); }
    .pane-header h2 { margin: 0; font-size: 1em; flex: 1; min-width: 10em; }
    .pane-header .facts { display: block; font-weight: normal; font-size: 0.85em; color: var(--_muted); }
    .scroll { flex: 1; overflow-y: auto; }
    form.composer { display: flex; gap: 0.5em; align-items: flex-end; padding: 0.6em; border-top: 1px solid var(--_border); }
    form.composer textarea {
      flex: 1; resize: none; border: 1px solid var(--_border); border-radius: calc(var(--_radius) / 2); padding: 0.5em 0.6em; max-height: 8em;
    }
    .note { color: var(--_muted); text-align: center; padding: 0.8em; margin: 0; }
    .placeholder { margin: auto; color: var(--_muted); padding: 2em; text-align: center; }

    /*
     * A console as narrow as a phone (ONE_AT_A_TIME_PX): the inbox, or the open chat under the way
     * back to the inbox, with all of its height.
     */
    .layout:not([data-view='both']) { display: flex; flex-direction: column; }
    .layout:not([data-view='both']) > :is(nav.inbox, .workspace) { flex: 1; border-inline-end: none; }
    .layout[data-view='inbox'] > .workspace, .layout[data-view='chat'] > nav.inbox { display: none; }
    .back {
      display: flex; align-items: center; gap: 0.4em; text-align: start;
      border: none; border-bottom: 1px solid var(--_border); border-radius: 0; background: var(--_surface-alt);
    }
  `,
];

import { SessionReplay } from './session-replay.component.js';

export * from './session-replay.component.js';
export default SessionReplay;

if (!customElements.get('session-replay')) customElements.define('session-replay', SessionReplay);

declare global {
  interface HTMLElementTagNameMap {
    'session-replay': SessionReplay;
  }
}

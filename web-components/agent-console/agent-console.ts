import { AgentConsole } from './agent-console.component.js';

export * from './agent-console.component.js';
export default AgentConsole;

if (!customElements.get('agent-console')) customElements.define('agent-console', AgentConsole);

declare global {
  interface HTMLElementTagNameMap {
    'agent-console': AgentConsole;
  }
}

import { ChatWidget } from './chat-widget.component.js';

export * from './chat-widget.component.js';
export default ChatWidget;

if (!customElements.get('chat-widget')) customElements.define('chat-widget', ChatWidget);

declare global {
  interface HTMLElementTagNameMap {
    'chat-widget': ChatWidget;
  }
}

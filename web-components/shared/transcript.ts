import { html, nothing, type TemplateResult } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import { type Conversation, isReadByOtherSide, type Line, type MessageLine, type SystemLine } from './conversation.js';
import { timeOfDay } from './format.js';
import type { Delivery, OwnPending } from './own-messages.js';

const DELIVERY_TEXT: Record<Delivery, string> = {
  queued: 'Waiting for connection',
  sending: 'Sending…',
  stored: 'Delivered',
  read: 'Read',
  failed: 'Not sent',
};

export interface TranscriptOptions {
  /** The list's accessible name. */
  readonly label: string;
  /** Whether a message is the viewer's own (shown on the right, with its delivery state). */
  readonly isOwn: (line: MessageLine) => boolean;
  /** The name shown above another's message. */
  readonly senderName: (line: MessageLine) => string;
  readonly systemText: (line: SystemLine) => string;
  /** Own messages not in the events (sending, queued, refused), after the rest. */
  readonly pending?: readonly (OwnPending & { delivery: Delivery })[];
  readonly onDismiss?: (messageId: string) => void;
  /** Show delivery states of own messages (not in a replay). */
  readonly deliveries?: boolean;
}

/**
 * A conversation's lines as a list. Bodies are text: Lit bindings set them as text nodes, so
 * markup in a message is shown, never run.
 */
export function transcript(conversation: Conversation | undefined, options: TranscriptOptions): TemplateResult {
  const lines = conversation?.lines ?? [];
  return html`
    <ol class="lines" part="messages" aria-label=${options.label}>
      ${repeat(lines, (line) => (line.kind === 'message' ? line.messageId : `system-${line.revision}`), (line) => lineOf(conversation!, line, options))}
      ${repeat(options.pending ?? [], (line) => line.messageId, (line) => ownLine(line.messageId, line.body, line.createdAt, line.delivery, options, line.reason))}
    </ol>
  `;
}

function lineOf(conversation: Conversation, line: Line, options: TranscriptOptions): TemplateResult {
  if (line.kind === 'system') {
    return html`<li class="line system" part="message message-system" data-revision=${line.revision}>${options.systemText(line)}</li>`;
  }
  if (options.isOwn(line)) {
    const delivery: Delivery = isReadByOtherSide(conversation, line) ? 'read' : 'stored';
    return ownLine(line.messageId, line.body, line.at, delivery, options, undefined, line.revision);
  }
  const part = line.senderType === 'agent' ? 'message message-agent' : 'message message-customer';
  return html`
    <li class="line other" part=${part} data-message-id=${line.messageId} data-revision=${line.revision}>
      <span class="sender">${options.senderName(line)}</span>
      <span class="bubble">${line.body}</span>
      <span class="meta"><time datetime=${line.at}>${timeOfDay(line.at)}</time></span>
    </li>
  `;
}

function ownLine(
  messageId: string,
  body: string,
  at: string | number,
  delivery: Delivery,
  options: TranscriptOptions,
  reason?: string,
  revision?: number,
): TemplateResult {
  const showDelivery = options.deliveries ?? true;
  return html`
    <li
      class="line own ${delivery === 'failed' ? 'failed' : ''}"
      part="message message-own"
      data-message-id=${messageId}
      data-delivery=${showDelivery ? delivery : nothing}
      data-revision=${revision ?? nothing}
    >
      <span class="visually-hidden">You:</span>
      <span class="bubble">${body}</span>
      <span class="meta">
        <time datetime=${new Date(at).toISOString()}>${timeOfDay(at)}</time>
        ${showDelivery ? html`<span class="delivery">${DELIVERY_TEXT[delivery]}</span>` : nothing}
      </span>
      ${reason
        ? html`<p class="error-text">
            <span class="reason">${reason}</span>
            ${options.onDismiss && delivery === 'failed'
              ? html`<button type="button" @click=${() => options.onDismiss!(messageId)}>Dismiss</button>`
              : nothing}
          </p>`
        : nothing}
    </li>
  `;
}

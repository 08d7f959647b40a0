import { html, LitElement, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { property, state } from 'lit/decorators.js';
import { type Conversation, foldEvents, type SystemLine } from '../shared/conversation.js';
import { dateTime } from '../shared/format.js';
import { verifyChain } from '../shared/hash-chain.js';
import { AuthRequired, HttpApi, HttpError, serverUrl } from '../shared/http-api.js';
import { type AuditedEvent, type ChainVerdict, fromAudited, type SessionEventMessage } from '../shared/protocol.js';
import { shortened } from '../shared/text.js';
import { transcript } from '../shared/transcript.js';
import styles from './session-replay.styles.js';

const EVENT_LABELS: Record<string, string> = {
  ChatSessionOpened: 'Chat opened',
  AgentJoined: 'Agent joined',
  AgentLeft: 'Agent left',
  ChatMessageSent: 'Message sent',
  MessagesRead: 'Messages read',
  ChatSessionClosed: 'Chat closed',
  ChatSessionRated: 'Chat rated',
};

/**
 * @summary The auditor's replay of one session: every event with its actor and time, a
 * scrubber that shows the conversation as it was at any revision (replayed here, from the
 * events), and whether the events' hash chain is intact: recomputed here from the events too,
 * where the browser has WebCrypto (https, or http on localhost), and set beside the server's
 * verdict (`…/verify`); when the two differ, it says so.
 *
 * @attr server - The Parley server's base URL, with the path it is served under if any; empty: this page's origin.
 * @attr token - A JWT of an auditor (or an agent).
 * @attr session-id - The session to replay.
 * @attr revision - The revision shown (default: the last one); follows the scrubber (reflected).
 *
 * @event chat-auth-required - `{reason}`: the token is missing, expired or refused; set `token`.
 * @event chat-replay-loaded - `{sessionId, events, ok, brokenAtRevision, checkedInBrowser, browserVerdict}`:
 *   the events and the verdicts are in. `ok` and `brokenAtRevision` are the server's verdict;
 *   `checkedInBrowser` tells whether this browser recomputed the chain (false without WebCrypto),
 *   and `browserVerdict` is then its own `{ok, brokenAtRevision?}`.
 * @event chat-replay-scrub - `{sessionId, revision}`: the revision shown changed.
 *
 * @csspart verdict - The hash-chain verdict; its class: `ok` or `broken` (this browser and the server
 *   agree), `disagree`, `unchecked` (the server's verdict only) or `unknown` (none yet).
 * @csspart scrubber - The range input.
 * @csspart timeline - The list of events. `event`: each entry.
 * @csspart state - The session at the chosen revision. `messages`, `message`: its transcript.
 *
 * @cssproperty --parley-accent - Brand colour (#0a58ca). And every other `--parley-*` colour of `<chat-widget>`.
 * @cssproperty --parley-replay-height - Height of the timeline and of the transcript (520px): side by side, or
 *   one above the other in a replay narrower than 34em (a phone).
 */
export class SessionReplay extends LitElement {
  static override styles = styles;

  @property() server = '';
  @property() token = '';
  @property({ attribute: 'session-id' }) sessionId = '';
  @property({ type: Number, reflect: true }) revision: number | undefined;

  @state() private audited: readonly AuditedEvent[] = [];
  @state() private events: readonly SessionEventMessage[] = [];
  /** The server's verdict (`…/verify`). */
  @state() private verdict: ChainVerdict | undefined;
  /** This browser's, from the events; `null` when it has no WebCrypto to compute one. */
  @state() private browserVerdict: ChainVerdict | null | undefined;
  @state() private loading = false;
  @state() private error = '';

  #loaded = '';

  protected override willUpdate(changed: PropertyValues<this>): void {
    // Another session starts at its last revision, unless the host chose one with it.
    if (changed.has('sessionId') && changed.get('sessionId') && !changed.has('revision')) this.revision = undefined;
    if (changed.has('server') || changed.has('token') || changed.has('sessionId')) void this.reload();
  }

  /** Reads the events and the verdict again. */
  async reload(): Promise<void> {
    const { sessionId, token } = this;
    if (!sessionId) return this.#reset('Choose a session to replay.');
    if (!token) {
      this.#reset('Sign in as an auditor to replay a session.');
      this.#emit('chat-auth-required', { reason: 'no token' });
      return;
    }
    const key = `${this.server}|${token}|${sessionId}`;
    if (key === this.#loaded && !this.error) return;
    this.#loaded = key;
    // Shown at its last revision (none chosen, or the last one): the session's new last one after the reload.
    const atEnd = this.revision === undefined || this.revision === this.events.at(-1)?.revision;
    this.loading = true;
    this.error = '';
    const api = new HttpApi(serverUrl(this.server), () => this.token);
    const path = `/api/audit/sessions/${encodeURIComponent(sessionId)}`;
    try {
      const [history, verdict] = await Promise.all([api.get<{ events: AuditedEvent[] }>(`${path}/events`), api.get<ChainVerdict>(`${path}/verify`)]);
      // crypto.subtle exists only in secure contexts: elsewhere the server's word is all there is.
      const subtle = globalThis.crypto?.subtle;
      const browserVerdict = subtle ? await verifyChain(history.events, subtle) : null;
      if (key !== this.#loaded) return;
      this.audited = history.events;
      this.events = history.events.map((event) => fromAudited(sessionId, event));
      this.verdict = verdict;
      this.browserVerdict = browserVerdict;
      if (atEnd || !this.events.some((event) => event.revision === this.revision)) this.revision = this.events.at(-1)?.revision;
      const checked = browserVerdict ? { checkedInBrowser: true, browserVerdict } : { checkedInBrowser: false };
      this.#emit('chat-replay-loaded', { sessionId, events: this.events.length, ...verdict, ...checked });
    } catch (error) {
      if (key !== this.#loaded) return;
      this.#reset(this.#explain(error));
      if (error instanceof AuthRequired) this.#emit('chat-auth-required', { reason: error.message });
    } finally {
      if (key === this.#loaded) this.loading = false;
    }
  }

  #reset(error: string): void {
    this.audited = [];
    this.events = [];
    this.verdict = undefined;
    this.browserVerdict = undefined;
    this.error = error;
    this.#loaded = '';
  }

  #explain(error: unknown): string {
    if (error instanceof AuthRequired) return `Your sign-in was refused (${error.message}).`;
    if (error instanceof HttpError) {
      if (error.status === 403) return 'Your account may not read audit logs: auditors and agents only.';
      if (error.status === 404) return `There is no session ${this.sessionId}.`;
      return `The server refused: ${error.message}.`;
    }
    return 'The server cannot be reached; try again.';
  }

  #scrub(revision: number): void {
    if (revision === this.revision) return;
    this.revision = revision;
    this.#emit('chat-replay-scrub', { sessionId: this.sessionId, revision });
  }

  #emit(name: string, detail: object): void {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  protected override render(): TemplateResult {
    // The scrubber moves over the events' places in the list; everything shown names their stored
    // revisions, which differ from the places when the stored history lacks one.
    const last = this.events.length - 1;
    const found = this.events.findIndex((event) => event.revision === this.revision);
    const place = found >= 0 ? found : last;
    const shown = place >= 0 ? foldEvents(this.sessionId, this.events.slice(0, place + 1)) : undefined;
    const current = this.events[place];
    const revision = current?.revision ?? -1;
    const lastRevision = this.events[last]?.revision ?? -1;
    return html`
      <div class="top">
        <h2>Session replay <span class="id">${this.sessionId || '—'}</span></h2>
        ${this.#renderVerdict()}
        <button type="button" @click=${() => ((this.#loaded = ''), void this.reload())} ?disabled=${!this.sessionId || this.loading}>Reload</button>
      </div>
      ${this.error ? html`<p class="message" role="alert">${this.error}</p>` : nothing}
      ${this.loading && this.events.length === 0 ? html`<p class="message" role="status">Loading…</p>` : nothing}
      ${this.events.length === 0
        ? nothing
        : html`
            <div class="scrubber">
              <label for="scrubber">Revision</label>
              <input
                id="scrubber"
                part="scrubber"
                type="range"
                min="0"
                max=${last}
                step="1"
                .value=${String(place)}
                aria-valuetext="Revision ${revision} of ${lastRevision}: ${EVENT_LABELS[current?.type ?? ''] ?? current?.type ?? ''}"
                @input=${(event: Event) => this.#scrub(this.events[Number((event.target as HTMLInputElement).value)]!.revision)}
              />
              <output for="scrubber" aria-live="polite">
                Revision ${revision} of ${lastRevision} · ${current ? dateTime(current.occurredAt) : ''} · ${EVENT_LABELS[current?.type ?? ''] ?? current?.type}
              </output>
            </div>
            <div class="body">
              ${this.#renderTimeline(revision)}
              ${this.#renderState(shown)}
            </div>
          `}
    `;
  }

  #renderVerdict(): TemplateResult {
    const { verdict, browserVerdict } = this;
    if (!verdict || browserVerdict === undefined) {
      return html`<p class="verdict unknown" part="verdict" role="status">Hash chain: not checked</p>`;
    }
    if (browserVerdict === null) {
      return html`<p class="verdict unchecked" part="verdict" role="status">
        This browser could not check the hash chain itself (it needs https, or http on localhost). The server says: ${this.#describe(verdict)}.
      </p>`;
    }
    if (verdict.ok !== browserVerdict.ok || verdict.brokenAtRevision !== browserVerdict.brokenAtRevision) {
      return html`<p class="verdict disagree" part="verdict" role="alert">
        <strong>⚠ The server's verdict and this browser's disagree.</strong> Checked in this browser, the hash chain is
        ${this.#describe(browserVerdict)}; the server says it is ${this.#describe(verdict)}. The server may be faulty, or lying.
      </p>`;
    }
    if (verdict.ok) {
      return html`<p class="verdict ok" part="verdict" role="status">
        ✔ Hash chain intact over ${this.events.length} events: checked in this browser and by the server
      </p>`;
    }
    return html`<p class="verdict broken" part="verdict" role="status">
      ✘ Hash chain broken at revision ${verdict.brokenAtRevision}: events from there on may have been altered (found in this browser and
      by the server)
    </p>`;
  }

  #describe(verdict: ChainVerdict): string {
    return verdict.ok ? `intact over ${this.events.length} events` : `broken at revision ${verdict.brokenAtRevision}`;
  }

  #renderTimeline(revision: number): TemplateResult {
    // Marked from this browser's own verdict where there is one, not from the server's word.
    const brokenAt = (this.browserVerdict ?? this.verdict)?.brokenAtRevision;
    return html`
      <section class="timeline" aria-labelledby="timeline-title">
        <h3 id="timeline-title">Events</h3>
        <ol class="events" part="timeline">
          ${this.audited.map((event) => {
            const actor = event.metadata.actor as { id?: string; role?: string } | undefined;
            const broken = brokenAt !== undefined && event.revision >= brokenAt;
            const occurredAt = String(event.metadata.occurredAt ?? event.recordedAt);
            return html`<li>
              <button
                type="button"
                part="event"
                class="event ${event.revision > revision ? 'future' : ''} ${broken ? 'broken' : ''}"
                aria-current=${event.revision === revision ? 'true' : 'false'}
                data-revision=${event.revision}
                @click=${() => this.#scrub(event.revision)}
              >
                <span class="rev">#${event.revision}</span>
                <span class="type">${EVENT_LABELS[event.type] ?? event.type}${summary(event)}</span>
                <span class="actor">by ${actor?.id ?? 'unknown'} (${actor?.role ?? '?'})</span>
                <time datetime=${occurredAt}>${dateTime(occurredAt)}</time>
                <span class="hash" title="hash">${String(event.metadata.hash ?? '').slice(0, 16)}…</span>
                ${event.revision > revision ? html`<span class="visually-hidden">(after the revision shown)</span>` : nothing}
              </button>
            </li>`;
          })}
        </ol>
      </section>
    `;
  }

  #renderState(conversation: Conversation | undefined): TemplateResult {
    const agent = conversation?.agent;
    // Focusable, so that the keyboard can scroll a transcript longer than its box (in the
    // timeline, its buttons can).
    return html`
      <section part="state" aria-labelledby="state-title" tabindex="0">
        <h3 id="state-title">The session at revision ${conversation?.revision ?? '—'}</h3>
        <dl class="facts">
          <dt>Status</dt><dd>${conversation?.status ?? '—'}</dd>
          <dt>Subject</dt><dd>${conversation?.subject ?? '—'}</dd>
          <dt>Customer</dt><dd>${conversation?.customerId ?? '—'}</dd>
          <dt>Agent</dt><dd>${agent ? `${agent.name} (${agent.id})` : '—'}</dd>
          <dt>Rating</dt><dd>${conversation?.rating ? `${conversation.rating.rating}/5${conversation.rating.comment ? ` “${conversation.rating.comment}”` : ''}` : '—'}</dd>
        </dl>
        ${transcript(conversation, {
          label: 'Transcript at this revision',
          isOwn: () => false,
          senderName: (line) =>
            line.senderType === 'user' ? `${line.senderId} (customer)` : `${conversation?.agentNames[line.senderId] ?? line.senderId} (agent)`,
          systemText: (line) => systemText(line),
          deliveries: false,
        })}
      </section>
    `;
  }
}

function summary(event: AuditedEvent): string {
  const data = event.data;
  switch (event.type) {
    case 'ChatSessionOpened':
      return `: ${String(data.subject ?? '')}`;
    case 'AgentJoined':
      return `: ${String(data.agentName ?? data.agentId ?? '')}`;
    case 'ChatMessageSent':
      return `: “${shortened(String(data.body ?? ''), 60)}”`;
    case 'ChatSessionRated':
      return `: ${String(data.rating)}/5`;
    case 'ChatSessionClosed':
      return data.reason ? `: ${String(data.reason)}` : '';
    default:
      return '';
  }
}

function systemText(line: SystemLine): string {
  switch (line.event) {
    case 'opened':
      return `${line.actorId} opened the chat: ${line.detail ?? ''}`;
    case 'joined':
      return `${line.actorName ?? line.actorId} joined.`;
    case 'left':
      return `${line.actorName ?? line.actorId} left.`;
    case 'closed':
      return `Closed by ${line.actorName ?? line.actorId}${line.detail ? `: ${line.detail}` : ''}.`;
    case 'rated':
      return `Rated ${line.detail}/5.`;
  }
}

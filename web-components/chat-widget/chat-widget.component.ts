import { html, LitElement, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { property, query, state } from 'lit/decorators.js';
import { ChatConnection, type ConnectionStatus } from '../shared/chat-connection.js';
import { composer, messageOf } from '../shared/composer.js';
import { applyEvent, type Conversation, emptyConversation, type SystemLine, unreadFor } from '../shared/conversation.js';
import { secondsUntil } from '../shared/format.js';
import { Backoff } from '../shared/backoff.js';
import { HttpApi, HttpError, serverUrl } from '../shared/http-api.js';
import { claimsOf, randomId, type TokenClaims } from '../shared/identity.js';
import { OUTBOX_LIMIT, type OutboxEntry } from '../shared/outbox.js';
import { destinations, type Page, type SessionEventMessage, type SessionView } from '../shared/protocol.js';
import { describeRejection, OUTBOX_FULL } from '../shared/rejections.js';
import styles from './chat-widget.styles.js';
import { type OwnPending, pendingLines } from '../shared/own-messages.js';
import { acceptedText, COMMENT, MESSAGE, newlyTooLong, problemNote, SUBJECT, type TextRule, tooLong } from '../shared/text-field.js';
import { TokenRenewal } from '../shared/token-renewal.js';
import { transcript } from '../shared/transcript.js';
import { ChatStore, type SavedChat, storageKey } from '../shared/saved-chat.js';

const TYPING_IDLE_MS = 3_000;
const TYPING_SHOWN_MS = 6_000;
/** The statuses of a chat not closed yet. */
const OPEN_STATUSES = ['waiting', 'active'] as const;
/**
 * @summary The customer's live chat: a launcher button that opens a chat panel. The customer
 * names a subject, chats with an agent, ends the chat and rates it. Messages typed while offline
 * are sent when the connection is back; the open chat survives a page reload, and the customer's
 * other tabs of the site show it too.
 *
 * @attr server - The Parley server's base URL (`https://chat.example.com`, or `https://example.com/chat` behind a proxy that serves it under `/chat/`); empty: this page's origin.
 * @attr token - A JWT of the customer (`role: customer`). When it expires or is refused, the
 *   widget fires `chat-auth-required`; set a new one and it reconnects.
 * @attr reservation-id - Sent with a new chat so that agents see which reservation it is about.
 * @attr heading - The panel's title (default "Chat with us").
 * @attr open - Whether the panel is open (reflected).
 * @attr inline - Shows the widget in the page's flow rather than fixed in the viewport's corner.
 *
 * @event chat-auth-required - `{reason}`: the token is missing, about to expire (a minute before), expired or refused; set `token`.
 * @event chat-session-opened - `{sessionId}`: the server stored a new chat.
 * @event chat-message-sent - `{sessionId, messageId, body}`: the server stored a message of the customer.
 * @event chat-message-received - `{sessionId, messageId, body, senderId}`: an agent wrote (once: not again when a later page load replays the chat).
 * @event chat-message-failed - `{sessionId, messageId, code, reason}`: the server refused a message for good.
 * @event chat-session-closed - `{sessionId, closedBy}` (once, as `chat-message-received`).
 * @event chat-session-rated - `{sessionId, rating, comment}` (once, as `chat-message-received`).
 * @event chat-connection-change - `{state}`: `connecting`, `online`, `offline`, `auth-required`, `stopped`.
 * @event chat-show - The panel opened.
 * @event chat-hide - The panel closed.
 *
 * @csspart launcher - The button that opens and closes the panel.
 * @csspart badge - The unread count on the launcher.
 * @csspart panel - The chat panel.
 * @csspart header - The panel's title bar.
 * @csspart status - The connection notice (offline, reconnecting, sign-in needed).
 * @csspart messages - The list of lines.
 * @csspart message - Every line; also `message-own`, `message-agent` or `message-system`.
 * @csspart typing - "… is typing".
 * @csspart composer - The message form; `input` its text area, `send-button` its button.
 * @csspart end-button - "End chat".
 * @csspart subject-form - The form that starts a chat.
 * @csspart rating - The rating form.
 *
 * @cssproperty --parley-accent - Brand colour: launcher, header, own messages (#0a58ca).
 * @cssproperty --parley-accent-contrast - Text on the accent colour (#fff).
 * @cssproperty --parley-surface - Panel background. `--parley-surface-alt`: agent messages.
 * @cssproperty --parley-text - Text colour. `--parley-muted`: secondary text.
 * @cssproperty --parley-border - Borders. `--parley-danger`: errors. `--parley-star-color`: stars chosen, `--parley-star-off-color` the others.
 * @cssproperty --parley-radius - Corner radius (12px).
 * @cssproperty --parley-font-family - Font. `--parley-font-size`: base size (14px).
 * @cssproperty --parley-panel-width - Panel width (360px). `--parley-panel-height` (540px).
 * @cssproperty --parley-offset - Distance from the viewport's corner (20px).
 * @cssproperty --parley-z-index - Stacking order (1000).
 */
export class ChatWidget extends LitElement {
  static override styles = styles;

  @property() server = '';
  @property() token = '';
  @property({ attribute: 'reservation-id' }) reservationId = '';
  @property() heading = 'Chat with us';
  @property({ type: Boolean, reflect: true }) open = false;
  @property({ type: Boolean, reflect: true }) inline = false;

  @state() private status: ConnectionStatus = { state: 'stopped' };
  @state() private sessionId: string | undefined;
  @state() private conversation: Conversation | undefined;
  @state() private outbox: readonly OutboxEntry[] = [];
  /** Stored (RECEIPT) but not seen on the session topic yet. */
  @state() private confirmed: readonly OwnPending[] = [];
  @state() private failures: readonly OwnPending[] = [];
  @state() private agentTyping = false;
  @state() private announcement = '';
  @state() private draft = '';
  @state() private subjectDraft = '';
  @state() private rating = 0;
  @state() private commentDraft = '';
  @state() private ratingSkipped = false;
  @state() private notice = '';
  @state() private now = Date.now();
  /** Lost the connection, not back yet. */
  @state() private reconnecting = false;

  @query('.scroll') private scroller?: HTMLElement;

  #connection: ChatConnection | undefined;
  #unsubscribe: (() => void)[] = [];
  #identity: { key: string; claims: TokenClaims; store: ChatStore } | undefined;
  /** Of the open chat: the events up to this revision were shown before this page loaded (history). */
  #historyUpTo = -1;
  /** Of the open chat: the last revision shown, saved for the next load. */
  #seenRevision = -1;
  #typingSent = 0;
  #typingIdle: ReturnType<typeof setTimeout> | undefined;
  #typingShown: ReturnType<typeof setTimeout> | undefined;
  #clock: ReturnType<typeof setInterval> | undefined;
  /** Asks the host page for a new token before the server ends the connection at its expiry. */
  readonly #renewal = new TokenRenewal((reason) => this.#emit('chat-auth-required', { reason }));
  /** The next look for the customer's open chat, after one failed. */
  #lookAgain: ReturnType<typeof setTimeout> | undefined;
  #readRequested = '';
  #onVisibility = () => this.#markRead();
  #onStorage = (event: StorageEvent) => {
    if (!this.#identity || event.key !== this.#identity.key) return;
    // What a tab closed left unsent is sent from here, in the order written among this tab's own.
    const connection = this.#connection;
    this.#identity.store.takeOver((entry) => connection?.enqueue(entry.id, entry.destination, entry.body, entry.createdAt) ?? false);
    this.#follow(this.#identity.store.peek());
  };
  #onPageHide = () => this.#identity?.store.handOver(this.outbox);

  override connectedCallback(): void {
    super.connectedCallback();
    document.addEventListener('visibilitychange', this.#onVisibility);
    window.addEventListener('storage', this.#onStorage);
    window.addEventListener('pagehide', this.#onPageHide);
    if (this.#identity === undefined && this.hasUpdated) this.#configure();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    document.removeEventListener('visibilitychange', this.#onVisibility);
    window.removeEventListener('storage', this.#onStorage);
    window.removeEventListener('pagehide', this.#onPageHide);
    this.#teardown();
  }

  /** What had the focus before this render: a button that goes with it (End chat, say) must not drop it. */
  #focusedBefore: Element | null = null;

  protected override willUpdate(changed: PropertyValues<this>): void {
    this.#focusedBefore = (this.renderRoot as ShadowRoot).activeElement;
    if (changed.has('server') || changed.has('token')) this.#configure();
  }

  protected override updated(changed: PropertyValues): void {
    if (['conversation', 'outbox', 'confirmed', 'failures', 'open'].some((name) => changed.has(name))) {
      this.scroller?.scrollTo({ top: this.scroller.scrollHeight });
    }
    // Gone with what it did, not with the panel (minimised: the launcher takes it): to the next step, not the page's body.
    if (this.open && this.#focusedBefore?.isConnected === false) this.#focusFirstField();
    if (changed.has('open') && changed.get('open') !== undefined) {
      this.#emit(this.open ? 'chat-show' : 'chat-hide', {});
      if (this.open) this.#focusFirstField();
    }
    this.#markRead();
  }

  /** Opens the panel. */
  show(): void {
    this.open = true;
  }

  /** Closes the panel (the chat goes on). */
  hide(): void {
    this.open = false;
  }

  // ---- connection and storage ----

  #configure(): void {
    const claims = claimsOf(this.token);
    if (!this.token || !claims) {
      this.#teardown();
      this.status = { state: 'auth-required', reason: this.token ? 'the token is not a JWT' : 'no token' };
      this.#emit('chat-auth-required', { reason: this.status.reason });
      return;
    }
    // Per server, its path included: two servers under paths of one origin keep a chat each.
    const key = storageKey('chat', serverUrl(this.server), claims.sub);
    if (this.#connection && this.#identity?.key === key) {
      this.#identity = { ...this.#identity, claims };
      this.#connection.setToken(this.token);
      this.#renewal.watch(claims);
      return;
    }
    this.#teardown();
    const store = new ChatStore(key);
    this.#identity = { key, claims, store };
    this.#start(store.load());
    this.#renewal.watch(claims);
  }

  #start(saved: SavedChat): void {
    const connection = new ChatConnection({ server: serverUrl(this.server), token: this.token, outbox: saved.outbox });
    this.#connection = connection;
    this.outbox = connection.outbox;
    this.confirmed = [];
    this.failures = [];
    this.ratingSkipped = saved.ratingSkipped === true;
    this.#adopt(saved.sessionId, saved.seenRevision);
    this.#unsubscribe = [
      connection.on('status', (status) => this.#onStatus(status)),
      connection.on('event', (event) => this.#onEvent(event)),
      connection.on('typing', (typing) => {
        if (typing.sessionId === this.sessionId && typing.data.senderType === 'agent') this.#showTyping(typing.data.typing);
      }),
      connection.on('outbox', (entries) => {
        this.outbox = entries;
        if (this.notice === OUTBOX_FULL && entries.length < OUTBOX_LIMIT) this.notice = '';
        this.#save();
      }),
      connection.on('stored', (entry) => this.#onStored(entry)),
      connection.on('rejected', ({ entry, code, message }) => this.#onRejected(entry, code, message)),
      connection.on('watch-refused', ({ sessionId }) => {
        if (sessionId === this.sessionId) this.#forgetSession();
      }),
    ];
    connection.start();
    this.#clock = setInterval(() => {
      if (this.status.state === 'offline') this.now = Date.now(); // the retry countdown
    }, 1_000);
    void this.#resumeFromServer(new Backoff({ initialMs: 1_000, maxMs: 30_000 }));
  }

  #teardown(): void {
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#unsubscribe = [];
    this.#connection?.stop();
    this.#connection = undefined;
    this.#identity = undefined;
    clearInterval(this.#clock);
    this.#renewal.stop();
    clearTimeout(this.#lookAgain);
    clearTimeout(this.#typingIdle);
    clearTimeout(this.#typingShown);
    this.sessionId = undefined;
    this.conversation = undefined;
  }

  /**
   * Follows `sessionId` (stored by this browser, or found open on the server); `seenRevision`: its
   * last revision shown before (see `SavedChat`).
   */
  #adopt(sessionId: string | undefined, seenRevision = -1): void {
    this.sessionId = sessionId;
    this.#historyUpTo = seenRevision;
    this.#seenRevision = seenRevision;
    this.conversation = sessionId ? emptyConversation(sessionId) : undefined;
    this.#readRequested = '';
    // A session is watched once its opening is stored: before, the server knows no such session.
    if (sessionId && !this.#openingQueued(sessionId)) this.#connection?.watchSession(sessionId);
    this.#save();
  }

  /**
   * No chat saved in this browser, or one closed since: the customer may have one open from another
   * device, which this page then follows. A look that fails (unreachable, or the server's own
   * failure) is made again, after `retries`' next delay.
   */
  async #resumeFromServer(retries: Backoff): Promise<void> {
    const connection = this.#connection;
    const shown = this.sessionId;
    try {
      // The customer's open chats (a few at most: MAX_OPEN_SESSIONS_PER_CUSTOMER), newest first,
      // however many closed ones came after them.
      const api = new HttpApi(serverUrl(this.server), () => this.token);
      const lists = await Promise.all(OPEN_STATUSES.map((status) => api.get<Page<SessionView>>(`/api/sessions?status=${status}&limit=100`)));
      const openChats = lists.flatMap((page) => page.items).sort((a, b) => b.startTime.localeCompare(a.startTime));
      const open = openChats[0];
      if (!open || connection !== this.#connection || this.sessionId !== shown || open.sessionId === shown) return;
      // The chat saved is open still (listed so, or its opening not stored yet): it stays.
      if (shown && (openChats.some((session) => session.sessionId === shown) || this.#openingQueued(shown))) return;
      // What the row holds was there before this page: history, as for a chat saved in this browser.
      this.#switchTo(open.sessionId, open.revision);
    } catch (error) {
      // The connection's status says why; a new chat can still be started meanwhile.
      const refused = error instanceof HttpError && error.status < 500;
      if (!refused && connection === this.#connection) this.#lookAgain = setTimeout(() => void this.#resumeFromServer(retries), retries.next());
    }
  }

  /** Its opening is not stored yet: in this page's outbox, or in another tab's (saved). */
  #openingQueued(sessionId: string): boolean {
    const outboxes = [this.outbox, this.#identity?.store.peek().outbox ?? []];
    return outboxes.some((outbox) => outbox.some((entry) => entry.destination === destinations.open && entry.body.sessionId === sessionId));
  }

  /**
   * Another tab of this customer saved: this one shows the chat it started or took up, or none when
   * it left it (one chat per customer, whichever tab it is in). The chat of a queued opening is
   * watched once that tab has saved it stored.
   */
  #follow(saved: SavedChat): void {
    if (saved.sessionId !== this.sessionId) this.#switchTo(saved.sessionId, saved.seenRevision);
    else if (saved.sessionId && !this.#connection?.isWatching(saved.sessionId) && !this.#openingQueued(saved.sessionId)) {
      this.#connection?.watchSession(saved.sessionId);
    }
  }

  #save(): void {
    if (!this.#identity) return;
    this.#identity.store.save({
      sessionId: this.sessionId,
      outbox: [...this.outbox],
      ...(this.sessionId ? { seenRevision: this.#seenRevision } : {}),
      ...(this.sessionId && this.ratingSkipped ? { ratingSkipped: true } : {}),
    });
  }

  #forgetSession(): void {
    const sessionId = this.sessionId;
    if (sessionId) this.#connection?.discard((entry) => entry.destination.includes(sessionId) || entry.body.sessionId === sessionId);
    this.#switchTo(undefined);
  }

  /** Leaves the chat shown, if any, for `sessionId`'s (or none). */
  #switchTo(sessionId: string | undefined, seenRevision = -1): void {
    if (this.sessionId) this.#connection?.unwatchSession(this.sessionId);
    this.confirmed = [];
    this.failures = [];
    this.rating = 0;
    this.commentDraft = '';
    this.ratingSkipped = false;
    this.#adopt(sessionId, seenRevision);
  }

  // ---- what the connection reports ----

  #onStatus(status: ConnectionStatus): void {
    this.status = status;
    this.now = Date.now(); // the retry countdown starts from now, not from the clock's last tick
    this.#emit('chat-connection-change', { state: status.state });
    if (status.state === 'auth-required') this.#emit('chat-auth-required', { reason: status.reason });
    if (status.state === 'offline' && !this.reconnecting) this.#announce('Connection lost. Reconnecting…');
    if (status.state === 'offline') this.reconnecting = true;
    if (status.state === 'online') this.reconnecting = false;
  }

  #onEvent(event: SessionEventMessage): void {
    if (event.sessionId !== this.sessionId || !this.conversation) return;
    const before = this.conversation;
    this.conversation = applyEvent(before, event);
    // News, not the history replayed at a load: announced, and told to the host page.
    const news = event.revision > this.#historyUpTo;
    if (event.revision > this.#seenRevision) {
      this.#seenRevision = event.revision;
      this.#save();
    }
    const { data } = event;
    switch (event.type) {
      case 'ChatMessageSent':
        this.confirmed = this.confirmed.filter((line) => line.messageId !== data.messageId);
        if (data.senderType === 'agent') {
          this.agentTyping = false;
          if (news) {
            this.#emit('chat-message-received', { sessionId: event.sessionId, messageId: data.messageId, body: data.body, senderId: data.senderId });
            this.#announce(`${this.#agentName(String(data.senderId))}: ${String(data.body)}`);
          }
        }
        break;
      case 'AgentJoined':
        if (news) this.#announce(`${String(data.agentName)} joined the chat.`);
        break;
      case 'AgentLeft':
        if (news) this.#announce('The agent left the chat. Another agent will answer.');
        break;
      case 'ChatSessionClosed':
        this.agentTyping = false;
        if (news) {
          this.#emit('chat-session-closed', { sessionId: event.sessionId, closedBy: data.closedBy });
          this.#announce('The chat was closed. You can rate it now.');
        }
        break;
      case 'ChatSessionRated':
        if (news) this.#emit('chat-session-rated', { sessionId: event.sessionId, rating: data.rating, comment: data.comment });
        break;
    }
  }

  #onStored(entry: OutboxEntry): void {
    if (entry.destination === destinations.open) {
      const sessionId = String(entry.body.sessionId);
      this.#emit('chat-session-opened', { sessionId });
      if (sessionId === this.sessionId) this.#connection?.watchSession(sessionId);
      return;
    }
    if (entry.destination.endsWith('/messages')) {
      const messageId = String(entry.body.messageId);
      this.#emit('chat-message-sent', { sessionId: this.sessionId, messageId, body: entry.body.body });
      if (this.conversation && this.conversation.messageRevisions[messageId] === undefined) {
        this.confirmed = [...this.confirmed, { messageId, body: String(entry.body.body), createdAt: entry.createdAt ?? Date.now() }];
      }
    }
  }

  #onRejected(entry: OutboxEntry, code: string, message: string): void {
    const reason = describeRejection(code, message, entry.destination);
    if (entry.destination.endsWith('/messages')) {
      const messageId = String(entry.body.messageId);
      this.failures = [...this.failures, { messageId, body: String(entry.body.body), createdAt: entry.createdAt ?? Date.now(), code, reason }];
      this.#emit('chat-message-failed', { sessionId: this.sessionId, messageId, code, reason });
      this.#announce(`Message not sent. ${reason}`);
    } else if (entry.destination === destinations.open) {
      // The messages written in the chat meanwhile go with it: each is told of as failed.
      const sessionId = String(entry.body.sessionId);
      const unsent = this.outbox.filter((queued) => queued.destination === destinations.command(sessionId, 'messages'));
      this.#forgetSession();
      for (const message of unsent) {
        this.#emit('chat-message-failed', { sessionId, messageId: String(message.body.messageId), code, reason });
      }
      const lost = unsent.length === 0 ? '' : unsent.length === 1 ? ' The message you wrote was not sent.' : ` The ${unsent.length} messages you wrote were not sent.`;
      this.notice = `${reason}${lost}`;
    } else {
      this.notice = reason;
    }
  }

  #agentName(agentId: string): string {
    return this.conversation?.agentNames[agentId] ?? 'Agent';
  }

  #announce(text: string): void {
    // The same sentence twice in a row must be read twice: clear, then set a moment later.
    this.announcement = '';
    setTimeout(() => (this.announcement = text), 100);
  }

  #showTyping(typing: boolean): void {
    clearTimeout(this.#typingShown);
    this.agentTyping = typing;
    // A "stopped typing" can be lost with a connection: the indicator goes by itself.
    if (typing) this.#typingShown = setTimeout(() => (this.agentTyping = false), TYPING_SHOWN_MS);
  }

  /** Read receipt for the agent's messages, when the customer can see them. */
  #markRead(): void {
    const conversation = this.conversation;
    if (!this.open || !conversation || document.visibilityState !== 'visible' || this.status.state !== 'online') return;
    const last = unreadFor(conversation, 'user').at(-1);
    if (!last || last.messageId === this.#readRequested) return;
    this.#readRequested = last.messageId;
    this.#connection?.request(destinations.command(conversation.sessionId, 'read'), { upToMessageId: last.messageId }).catch(() => {
      this.#readRequested = ''; // asked again on the next update
    });
  }

  // ---- what the customer does ----

  #toggle(): void {
    this.open = !this.open;
  }

  #onPanelKey(event: KeyboardEvent): void {
    if (event.key !== 'Escape') return;
    event.stopPropagation();
    this.#minimise();
  }

  /** Closes the panel from inside it: focus goes to the launcher, not to the page's start. */
  #minimise(): void {
    this.open = false;
    void this.updateComplete.then(() => this.renderRoot.querySelector<HTMLButtonElement>('.launcher')?.focus());
  }

  #startChat(event: SubmitEvent): void {
    event.preventDefault();
    const subject = acceptedText(this.subjectDraft, SUBJECT);
    if (subject === undefined || !this.#connection) return;
    const sessionId = randomId();
    const body = { sessionId, subject, ...(this.reservationId ? { reservationId: this.reservationId } : {}) };
    this.notice = '';
    if (!this.#enqueue(`open-${sessionId}`, destinations.open, body)) return;
    this.#adopt(sessionId);
    this.subjectDraft = '';
    void this.updateComplete.then(() => this.#focusFirstField());
  }

  #send(event?: Event): void {
    event?.preventDefault();
    const body = messageOf(this.draft);
    const sessionId = this.sessionId;
    if (body === undefined || !sessionId || !this.#connection) return;
    const messageId = randomId();
    if (!this.#enqueue(messageId, destinations.command(sessionId, 'messages'), { messageId, body })) return;
    this.draft = '';
    this.#stopTyping();
  }

  /** Queues a command; `false`, and the customer told, when the outbox is full. */
  #enqueue(id: string, destination: string, body: Readonly<Record<string, unknown>>): boolean {
    const queued = this.#connection?.enqueue(id, destination, body) ?? false;
    if (!queued) this.notice = OUTBOX_FULL;
    return queued;
  }

  /** `after`, a field's text that was `before`; a screen reader told when it has just become too long for `rule`. */
  #edited(before: string, after: string, rule: TextRule): string {
    const problem = newlyTooLong(before, after, rule);
    if (problem) this.#announce(problem);
    return after;
  }

  #onInput(event: InputEvent): void {
    this.draft = this.#edited(this.draft, (event.target as HTMLTextAreaElement).value, MESSAGE);
    const sessionId = this.sessionId;
    if (!sessionId || this.conversation?.status !== 'active') return;
    if (Date.now() - this.#typingSent > TYPING_IDLE_MS) {
      this.#typingSent = Date.now();
      this.#connection?.typing(sessionId, true);
    }
    clearTimeout(this.#typingIdle);
    this.#typingIdle = setTimeout(() => this.#stopTyping(), TYPING_IDLE_MS);
  }

  #stopTyping(): void {
    clearTimeout(this.#typingIdle);
    if (this.#typingSent === 0 || !this.sessionId) return;
    this.#typingSent = 0;
    this.#connection?.typing(this.sessionId, false);
  }

  #endChat(): void {
    const sessionId = this.sessionId;
    if (!sessionId || !this.#connection) return;
    this.#enqueue(`close-${sessionId}`, destinations.command(sessionId, 'close'), {});
  }

  #rate(event: SubmitEvent): void {
    event.preventDefault();
    const sessionId = this.sessionId;
    const comment = acceptedText(this.commentDraft, COMMENT);
    if (!sessionId || !this.#connection || this.rating < 1 || comment === undefined) return;
    this.#enqueue(`rating-${sessionId}`, destinations.command(sessionId, 'rating'), { rating: this.rating, ...(comment ? { comment } : {}) });
  }

  #skipRating(): void {
    this.ratingSkipped = true;
    this.#save();
  }

  #newChat(): void {
    this.#forgetSession();
    void this.updateComplete.then(() => this.#focusFirstField());
  }

  #dismissFailure(messageId: string): void {
    this.failures = this.failures.filter((line) => line.messageId !== messageId);
  }

  #focusFirstField(): void {
    this.renderRoot.querySelector<HTMLElement>('.panel input[type="text"], .panel textarea, .panel .done button')?.focus();
  }

  #emit(name: string, detail: object): void {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  // ---- rendering ----

  protected override render(): TemplateResult {
    const unread = this.conversation ? unreadFor(this.conversation, 'user').length : 0;
    return html`
      <div class="visually-hidden" aria-live="polite" aria-atomic="true" part="announcer">${this.announcement}</div>
      ${this.open ? this.#renderPanel() : nothing}
      <button
        class="launcher"
        part="launcher"
        aria-expanded=${this.open ? 'true' : 'false'}
        aria-controls="panel"
        @click=${this.#toggle}
      >
        <span>${this.open ? 'Close chat' : this.heading}</span>
        ${!this.open && unread > 0
          ? html`<span class="badge" part="badge"><span aria-hidden="true">${unread}</span><span class="visually-hidden">, ${unread} unread</span></span>`
          : nothing}
      </button>
    `;
  }

  #renderPanel(): TemplateResult {
    const conversation = this.conversation;
    const ended = conversation?.status === 'closed';
    return html`
      <section id="panel" class="panel" part="panel" role="dialog" aria-labelledby="heading" @keydown=${this.#onPanelKey}>
        <div class="header" part="header">
          <h2 id="heading">
            ${this.heading}
            ${conversation?.subject ? html`<span class="subject">${conversation.subject}</span>` : nothing}
          </h2>
          <button type="button" aria-label="Minimise chat" @click=${this.#minimise}>–</button>
        </div>
        ${this.#renderStatus()}
        ${this.notice ? html`<p class="status error" role="alert">${this.notice}</p>` : nothing}
        ${this.sessionId === undefined
          ? this.#renderStart()
          : html`
              <div class="scroll">
                ${this.#renderLines()}
                ${conversation?.status === 'waiting' || (conversation?.status === 'none' && this.sessionId)
                  ? html`<p class="note">Waiting for an agent to join… You can already write.</p>`
                  : nothing}
                ${ended ? this.#renderEnd() : nothing}
              </div>
              ${ended ? nothing : this.#renderComposer()}
            `}
      </section>
    `;
  }

  #renderStatus(): TemplateResult | typeof nothing {
    const status = this.status;
    switch (status.state) {
      case 'offline':
        // The countdown is hidden from screen readers: in a live region it would be read out every second.
        return html`<p class="status" part="status" role="status">
          Can’t reach the chat server.
          <span aria-hidden="true">Retrying in ${secondsUntil(status.retryAt, this.now)} s…</span>
          <button type="button" @click=${() => this.#connection?.reconnectNow()}>Retry now</button>
        </p>`;
      case 'connecting':
        return this.reconnecting ? html`<p class="status" part="status" role="status">Reconnecting…</p>` : nothing;
      case 'auth-required':
        return html`<p class="status error" part="status" role="status">Your sign-in has expired or was refused; waiting for a new one.</p>`;
      default:
        return nothing;
    }
  }

  #renderStart(): TemplateResult {
    const problem = tooLong(this.subjectDraft, SUBJECT);
    return html`
      <form class="start" part="subject-form" @submit=${this.#startChat}>
        <label for="subject">What can we help you with?</label>
        <input
          id="subject"
          type="text"
          required
          autocomplete="off"
          placeholder="e.g. Changing my pick-up time"
          aria-invalid=${problem ? 'true' : nothing}
          aria-describedby=${problem ? 'subject-problem' : nothing}
          .value=${this.subjectDraft}
          @input=${(event: InputEvent) => (this.subjectDraft = this.#edited(this.subjectDraft, (event.target as HTMLInputElement).value, SUBJECT))}
        />
        ${problemNote('subject-problem', problem)}
        <button class="primary" type="submit" ?disabled=${!this.#connection || acceptedText(this.subjectDraft, SUBJECT) === undefined}>Start chat</button>
      </form>
    `;
  }

  #renderLines(): TemplateResult {
    const conversation = this.conversation;
    const pending = pendingLines(
      this.outbox, this.confirmed, this.failures, this.sessionId ?? '', this.status.state === 'online',
      (messageId) => conversation?.messageRevisions[messageId] !== undefined,
    );
    return html`
      ${transcript(conversation, {
        label: 'Conversation',
        isOwn: (line) => line.senderType === 'user',
        senderName: (line) => this.#agentName(line.senderId),
        systemText: (line) => this.#systemText(line),
        pending,
        onDismiss: (messageId) => this.#dismissFailure(messageId),
      })}
      <p class="typing" part="typing">${this.agentTyping ? `${this.#agentName(conversation?.agent?.id ?? '')} is typing…` : ''}</p>
    `;
  }

  #systemText(line: SystemLine): string {
    switch (line.event) {
      case 'opened':
        return `Chat started: ${line.detail ?? ''}`;
      case 'joined':
        return `${line.actorName ?? 'An agent'} joined the chat.`;
      case 'left':
        return `${line.actorName ?? 'The agent'} left the chat. Another agent will answer.`;
      case 'closed':
        return line.actorId === this.#identity?.claims.sub ? 'You ended the chat.' : `${line.actorName ?? 'The agent'} ended the chat.`;
      case 'rated':
        return `You rated this chat ${line.detail} out of 5.`;
    }
  }

  #renderComposer(): TemplateResult {
    return html`
      ${composer({
        label: 'Message',
        placeholder: 'Write a message…',
        draft: this.draft,
        onInput: (event) => this.#onInput(event),
        onSend: (event) => this.#send(event),
      })}
      <div class="actions">
        <span></span>
        <button type="button" part="end-button" @click=${this.#endChat}>End chat</button>
      </div>
    `;
  }

  #renderEnd(): TemplateResult {
    const conversation = this.conversation!;
    if (conversation.rating || this.ratingSkipped) {
      return html`<div class="done">
        <p>${conversation.rating ? 'Thank you for your feedback!' : 'Thank you for chatting with us.'}</p>
        <button class="primary" type="button" @click=${this.#newChat}>Start a new chat</button>
      </div>`;
    }
    const problem = tooLong(this.commentDraft, COMMENT);
    return html`
      <form class="rating" part="rating" @submit=${this.#rate}>
        <fieldset>
          <legend>How was your chat?</legend>
          <div class="stars">
            ${[1, 2, 3, 4, 5].map((stars) => html`
              <input type="radio" id="star-${stars}" name="rating" value=${stars} .checked=${this.rating === stars}
                @change=${() => (this.rating = stars)} />
              <label for="star-${stars}" class=${stars <= this.rating ? 'on' : ''} title="${stars} out of 5"
                ><span aria-hidden="true">★</span><span class="visually-hidden">${stars} out of 5 stars</span></label>
            `)}
          </div>
        </fieldset>
        <label for="comment">Anything to add? (optional)</label>
        <textarea
          id="comment"
          rows="2"
          aria-invalid=${problem ? 'true' : nothing}
          aria-describedby=${problem ? 'comment-problem' : nothing}
          .value=${this.commentDraft}
          @input=${(event: InputEvent) => (this.commentDraft = this.#edited(this.commentDraft, (event.target as HTMLTextAreaElement).value, COMMENT))}
        ></textarea>
        ${problemNote('comment-problem', problem)}
        <div class="row">
          <button class="primary" type="submit" ?disabled=${this.rating < 1 || problem !== undefined}>Send rating</button>
          <button type="button" @click=${this.#skipRating}>Skip</button>
        </div>
      </form>
    `;
  }
}

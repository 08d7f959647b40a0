import { html, LitElement, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { property, state } from 'lit/decorators.js';
import { Backoff } from '../shared/backoff.js';
import { ChatConnection, type ConnectionStatus } from '../shared/chat-connection.js';
import { composer, messageOf } from '../shared/composer.js';
import { applyEvent, type Conversation, emptyConversation, type SystemLine, unreadFor } from '../shared/conversation.js';
import { secondsUntil, timeOfDay } from '../shared/format.js';
import { AuthRequired, HttpApi, serverUrl } from '../shared/http-api.js';
import { claimsOf, randomId, type TokenClaims } from '../shared/identity.js';
import { OUTBOX_LIMIT, type OutboxEntry } from '../shared/outbox.js';
import { type OwnPending, pendingLines } from '../shared/own-messages.js';
import { destinations, type Page, type SessionEventMessage, type SessionStatus, type SessionView } from '../shared/protocol.js';
import { describeRejection, OUTBOX_FULL } from '../shared/rejections.js';
import { ChatStore, storageKey } from '../shared/saved-chat.js';
import { MESSAGE, newlyTooLong } from '../shared/text-field.js';
import { TokenRenewal } from '../shared/token-renewal.js';
import { transcript } from '../shared/transcript.js';
import { applyInboxEvent, besides, type Inbox, type InboxItem, mergeView, sections, skipsRevisions } from './agent-console.model.js';
import styles from './agent-console.styles.js';

const TYPING_IDLE_MS = 3_000;
const TYPING_SHOWN_MS = 6_000;
/**
 * How many pages of 100 the inbox reads of the waiting chats, and of the active ones: past
 * 2,000 of either, it lists the newest 2,000 and says that more exist (the list, newest first,
 * cannot start from the oldest).
 */
const LISTED_PAGES = 20;
const CUT_LIST_NOTES: Partial<Record<SessionStatus, string>> = {
  waiting: `More than ${LISTED_PAGES * 100} chats are waiting: the ${LISTED_PAGES * 100} that came in last are listed, not those waiting longest.`,
  active: `More than ${LISTED_PAGES * 100} chats are active: the ${LISTED_PAGES * 100} that started last are listed.`,
};
const SECTION_TITLES: Record<SessionStatus, string> = { waiting: 'Waiting', active: 'Active', closed: 'Closed' };
/**
 * The console's own width (not the screen's: it may sit in a column of a page) up to which it
 * shows the inbox or the open chat, one at a time: beside the 300 px inbox, the chat would have
 * too narrow a column for a line of words.
 */
const ONE_AT_A_TIME_PX = 640;

type PerSession<T> = Readonly<Record<string, T>>;

/**
 * @summary The support agent's console: an inbox of chats (waiting, active, closed, with unread
 * counts, live), and tabs to chat in several sessions at once — take a waiting chat, answer,
 * hand it back, close it.
 *
 * @attr server - The Parley server's base URL, with the path it is served under if any; empty: this page's origin.
 * @attr token - A JWT of the agent (`role: agent`, `name` shown to customers).
 *
 * @event chat-auth-required - `{reason}`: the token is missing, about to expire (a minute before), expired or refused; set `token`.
 * @event chat-session-joined - `{sessionId}`: this agent took the session.
 * @event chat-session-left - `{sessionId}`: this agent handed it back.
 * @event chat-session-closed - `{sessionId, closedBy}`: a chat open in a tab was closed (since it was opened).
 * @event chat-message-sent - `{sessionId, messageId, body}`: the server stored a message of this agent.
 * @event chat-message-received - `{sessionId, messageId, body, senderId}`: a customer wrote (in an open tab, since it was opened).
 * @event chat-message-failed - `{sessionId, messageId, code, reason}`.
 * @event chat-connection-change - `{state}`.
 *
 * @csspart inbox - The list of sessions. `inbox-item`: each entry.
 * @csspart tabs - The tab list of open sessions. `tab`: each tab.
 * @csspart back - On a narrow console, showing the open chat: the way back to the inbox, with the counts of what waits there.
 * @csspart pane - The open session. `messages`, `message`, `message-own`, `message-customer`, `message-system`: its lines.
 * @csspart composer - The message form. `input`, `send-button`.
 * @csspart status - The connection notice.
 *
 * @cssproperty --parley-accent - Brand colour (#0a58ca). And every other `--parley-*` colour of `<chat-widget>`.
 * @cssproperty --parley-console-height - Height of the console (640px).
 * @cssproperty --parley-inbox-width - Width of the inbox column (300px); where the console is 640px wide or less
 *   it shows the inbox, or the chat opened from it, one at a time, across the console.
 */
export class AgentConsole extends LitElement {
  static override styles = styles;

  @property() server = '';
  @property() token = '';

  @state() private status: ConnectionStatus = { state: 'stopped' };
  @state() private inbox: Inbox = {};
  @state() private tabs: readonly string[] = [];
  @state() private activeTab: string | undefined;
  @state() private conversations: PerSession<Conversation> = {};
  @state() private drafts: PerSession<string> = {};
  @state() private confirmed: PerSession<readonly OwnPending[]> = {};
  @state() private failures: PerSession<readonly OwnPending[]> = {};
  @state() private notices: PerSession<string> = {};
  @state() private customerTyping: PerSession<boolean> = {};
  @state() private outbox: readonly OutboxEntry[] = [];
  @state() private announcement = '';
  @state() private loadError = '';
  /** The lists read only in part ({@link LISTED_PAGES}). */
  @state() private cutLists: Partial<Record<SessionStatus, boolean>> = {};
  @state() private now = Date.now();
  /** Whether the console is too narrow for the inbox and the open chat side by side ({@link ONE_AT_A_TIME_PX}). */
  @state() private oneAtATime = false;
  /** Which of the two a narrow console shows: the inbox, or the open chat (when a tab is open). */
  @state() private showing: 'inbox' | 'chat' = 'inbox';

  #connection: ChatConnection | undefined;
  #api: HttpApi | undefined;
  #claims: TokenClaims | undefined;
  /** Where the connection's replies not yet stored are saved: per server (its path included) and agent. */
  #storeKey: string | undefined;
  #unsubscribe: (() => void)[] = [];
  #clock: ReturnType<typeof setInterval> | undefined;
  /** Asks the host page for a new token before the server ends the connection at its expiry. */
  readonly #renewal = new TokenRenewal((reason) => this.#emit('chat-auth-required', { reason }));
  #typingSent: Record<string, number> = {};
  /** By open tab: the revision up to which its events were listed before it was opened (history). */
  #historyUpTo: Record<string, number> = {};
  #typingTimers: Record<string, ReturnType<typeof setTimeout>> = {};
  #readRequested: Record<string, string> = {};
  /** A reading of the lists that failed is tried again while connected: 1 s, 2 s, … up to 30 s apart. */
  readonly #inboxRetries = new Backoff({ initialMs: 1_000, maxMs: 30_000 });
  #inboxRetry: ReturnType<typeof setTimeout> | undefined;
  #onVisibility = () => this.#markRead();
  /**
   * The console's own width, not the screen's (a media query), nor only its layout's (a container
   * query): where the focus goes, and whether the open chat is read, change with it too.
   */
  readonly #resizes = new ResizeObserver(([entry]) => {
    const oneAtATime = (entry?.borderBoxSize[0]?.inlineSize ?? 0) <= ONE_AT_A_TIME_PX;
    if (oneAtATime === this.oneAtATime) return;
    const root = this.renderRoot as ShadowRoot;
    const hadFocus = root.activeElement !== null;
    this.oneAtATime = oneAtATime;
    // The part the focus was in may be hidden now: the focus goes to what is shown in its place.
    void this.updateComplete.then(() => {
      if (hadFocus && !root.activeElement?.checkVisibility()) this.#focusShown();
    });
  });

  override connectedCallback(): void {
    super.connectedCallback();
    document.addEventListener('visibilitychange', this.#onVisibility);
    this.#resizes.observe(this);
    if (!this.#connection && this.hasUpdated) this.#configure();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    document.removeEventListener('visibilitychange', this.#onVisibility);
    this.#resizes.disconnect();
    this.#teardown();
  }

  /** What had the focus before this render, in the open chat's pane: it may go with the session's next event. */
  #focusedInPane: Element | null = null;

  protected override willUpdate(changed: PropertyValues<this>): void {
    const focused = (this.renderRoot as ShadowRoot).activeElement;
    this.#focusedInPane = focused?.closest('.pane') ? focused : null;
    if (changed.has('server') || changed.has('token')) this.#configure();
  }

  /** The open chat's pane as last rendered: only another tab, or new lines, scroll it down. */
  #shown: { readonly tab: string | undefined; readonly lines: number } = { tab: undefined, lines: 0 };

  protected override updated(): void {
    const scroller = this.renderRoot.querySelector<HTMLElement>('.pane .scroll');
    const lines = scroller?.querySelectorAll('li').length ?? 0;
    // A chat shown again on a narrow console counts as another tab: hidden, its pane lost its scrolling.
    const tab = this.#view() === 'inbox' ? undefined : this.activeTab;
    // Not at every update (an inbox event, a keystroke, a typing indicator): the agent may have scrolled up to read.
    if (tab !== this.#shown.tab || lines > this.#shown.lines) scroller?.scrollTo({ top: scroller.scrollHeight });
    this.#shown = { tab, lines };
    // Take chat, Hand back, Close chat, the reply box of a chat closed by its customer: gone once the
    // session's event comes. The focus goes to the reply box, or to the chat's tab (where keys typed
    // on press nothing), not to the page's body.
    if (this.#focusedInPane?.isConnected === false) {
      const root = this.renderRoot;
      (root.querySelector<HTMLElement>('.pane textarea') ?? root.querySelector<HTMLElement>('[role="tab"][aria-selected="true"]'))?.focus();
    }
    this.#markRead();
  }

  /** The agent's id, from the token. */
  get agentId(): string {
    return this.#claims?.sub ?? '';
  }

  // ---- connection ----

  #configure(): void {
    const claims = claimsOf(this.token);
    if (!claims) {
      this.#teardown();
      this.status = { state: 'auth-required', reason: 'no token' };
      this.#emit('chat-auth-required', { reason: this.token ? 'the token is not a JWT' : 'no token' });
      return;
    }
    const server = serverUrl(this.server);
    // Replies not yet stored are kept across reloads, per server (its path included) and agent, as the widget keeps a customer's.
    const key = storageKey('console', server, claims.sub);
    if (this.#connection && this.#storeKey === key) {
      this.#claims = claims;
      this.#connection.setToken(this.token);
      this.#renewal.watch(claims);
      return;
    }
    this.#teardown();
    this.#claims = claims;
    this.#storeKey = key;
    this.#api = new HttpApi(server, () => this.token);
    const store = new ChatStore(key);
    const connection = new ChatConnection({ server, token: this.token, outbox: store.load().outbox });
    this.#connection = connection;
    this.#unsubscribe = [
      connection.on('status', (status) => {
        this.status = status;
        this.now = Date.now(); // the retry countdown starts from now, not from the clock's last tick
        this.#emit('chat-connection-change', { state: status.state });
        if (status.state === 'auth-required') this.#emit('chat-auth-required', { reason: status.reason });
      }),
      // The inbox topic is live only: what changed while disconnected comes from the list.
      connection.on('connected', () => {
        this.#inboxRetries.reset();
        void this.#loadInbox();
      }),
      connection.on('inbox', (event) => this.#onInboxEvent(event)),
      connection.on('event', (event) => this.#onSessionEvent(event)),
      connection.on('typing', (typing) => {
        if (typing.data.senderType === 'user') this.#showTyping(typing.sessionId, typing.data.typing);
      }),
      connection.on('outbox', (entries) => {
        this.outbox = entries;
        store.save({ outbox: [...entries] });
        if (entries.length < OUTBOX_LIMIT) {
          for (const [sessionId, notice] of Object.entries(this.notices)) if (notice === OUTBOX_FULL) this.#setNotice(sessionId, '');
        }
      }),
      connection.on('stored', (entry) => this.#onStored(entry)),
      connection.on('rejected', ({ entry, code, message }) => this.#onRejected(entry, code, message)),
      connection.on('watch-refused', ({ sessionId, code, message }) => this.#setNotice(sessionId, describeRejection(code, message))),
    ];
    connection.watchInbox();
    for (const sessionId of this.tabs) connection.watchSession(sessionId);
    connection.start();
    this.#renewal.watch(claims);
    this.#clock = setInterval(() => {
      if (this.status.state === 'offline') this.now = Date.now(); // the retry countdown
    }, 1_000);
  }

  #teardown(): void {
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#unsubscribe = [];
    this.#connection?.stop();
    this.#connection = undefined;
    this.#claims = undefined;
    this.#storeKey = undefined;
    clearInterval(this.#clock);
    this.#renewal.stop();
    clearTimeout(this.#inboxRetry);
    this.inbox = {};
    this.cutLists = {};
    this.conversations = {};
    this.tabs = [];
    this.activeTab = undefined;
  }

  async #loadInbox(): Promise<void> {
    const api = this.#api;
    if (!api) return;
    clearTimeout(this.#inboxRetry);
    const before = this.inbox;
    try {
      // Every chat waiting or active (who waited longest is on the last page: newest first); the recent closed ones.
      const [waiting, active, closed] = await Promise.all([
        api.getAll<SessionView>('/api/sessions?status=waiting', LISTED_PAGES),
        api.getAll<SessionView>('/api/sessions?status=active', LISTED_PAGES),
        api.get<Page<SessionView>>('/api/sessions?status=closed&limit=30'),
      ]);
      if (api !== this.#api) return;
      const views = [...waiting.items, ...active.items, ...closed.items];
      this.inbox = views.reduce((inbox, view) => mergeView(inbox, view), this.inbox);
      this.cutLists = { waiting: !waiting.complete, active: !active.complete };
      this.loadError = '';
      if (waiting.complete && active.complete) this.#rereadUnlisted(before, new Set(views.map((view) => view.sessionId)));
    } catch (error) {
      if (api !== this.#api) return;
      this.#httpFailed(error, 'The list of chats could not be loaded');
      if (error instanceof AuthRequired) return; // read again once connected with the next token
      this.#inboxRetry = setTimeout(() => {
        if (this.status.state === 'online') void this.#loadInbox(); // offline: read again once connected
      }, this.#inboxRetries.next());
    }
  }

  /**
   * After a reconnect: a chat the inbox held as waiting or active, in neither full list now, and
   * with no news since the lists were asked for, changed while the console was offline (most
   * likely closed, past the recent closed ones listed). Read it again rather than show it as it was.
   */
  #rereadUnlisted(before: Inbox, listed: ReadonlySet<string>): void {
    for (const item of Object.values(before)) {
      if (item.status !== 'closed' && !listed.has(item.sessionId) && this.inbox[item.sessionId] === item) this.#readSession(item.sessionId);
    }
  }

  #httpFailed(error: unknown, what: string): void {
    if (error instanceof AuthRequired) this.#emit('chat-auth-required', { reason: error.message });
    else this.loadError = `${what}: ${(error as Error).message}.`;
  }

  // ---- what the server reports ----

  #onInboxEvent(event: SessionEventMessage): void {
    const recount = skipsRevisions(this.inbox, event);
    const next = applyInboxEvent(this.inbox, event);
    if (next === 'unknown') return this.#readSession(event.sessionId);
    this.inbox = next;
    // This agent's chat open in a tab is counted here (its reads, this agent's, zero it): the
    // server's count, read while this agent's last read is on its way, would bring that read back.
    // Another agent's chat, shown in a tab, is read again as any other: only that agent's reads count.
    const countedHere = this.tabs.includes(event.sessionId) && next[event.sessionId]?.agentId === this.agentId;
    if (recount && !countedHere) this.#readSession(event.sessionId, { recount });
    if (event.type === 'ChatSessionOpened') this.#announce(`New chat waiting: ${String(event.data.subject)}`);
    if (event.type === 'ChatMessageSent' && event.data.senderType === 'user' && !this.tabs.includes(event.sessionId)) {
      this.#announce(`New message in “${next[event.sessionId]?.subject ?? 'a chat'}”`);
    }
  }

  /** Reads a session into the inbox (`mergeView`). */
  #readSession(sessionId: string, options?: { recount: boolean }): void {
    void this.#api?.get<SessionView>(`/api/sessions/${sessionId}`).then(
      (view) => (this.inbox = mergeView(this.inbox, view, options)),
      (error: unknown) => this.#httpFailed(error, 'A chat could not be loaded'),
    );
  }

  #onSessionEvent(event: SessionEventMessage): void {
    const conversation = this.conversations[event.sessionId];
    if (!conversation) return;
    this.conversations = { ...this.conversations, [event.sessionId]: applyEvent(conversation, event) };
    const { data } = event;
    if (event.type === 'ChatMessageSent') {
      this.confirmed = without(this.confirmed, event.sessionId, String(data.messageId));
      if (data.senderType === 'user') {
        this.customerTyping = { ...this.customerTyping, [event.sessionId]: false };
        if (event.revision > (this.#historyUpTo[event.sessionId] ?? -1)) {
          this.#emit('chat-message-received', { sessionId: event.sessionId, messageId: data.messageId, body: data.body, senderId: data.senderId });
          this.#announce(`Customer in “${conversation.subject ?? 'chat'}”: ${String(data.body)}`);
        }
      }
    }
    if (event.type === 'ChatSessionClosed' && event.revision > (this.#historyUpTo[event.sessionId] ?? -1)) {
      this.#emit('chat-session-closed', { sessionId: event.sessionId, closedBy: data.closedBy });
    }
  }

  #onStored(entry: OutboxEntry): void {
    const sessionId = sessionOf(entry.destination);
    if (entry.destination.endsWith('/join')) {
      this.#emit('chat-session-joined', { sessionId });
      void this.updateComplete.then(() => this.renderRoot.querySelector<HTMLElement>('.pane textarea')?.focus());
    }
    if (entry.destination.endsWith('/leave')) this.#emit('chat-session-left', { sessionId });
    if (!entry.destination.endsWith('/messages')) return;
    const messageId = String(entry.body.messageId);
    this.#emit('chat-message-sent', { sessionId, messageId, body: entry.body.body });
    if (this.conversations[sessionId]?.messageRevisions[messageId] === undefined) {
      const line = { messageId, body: String(entry.body.body), createdAt: entry.createdAt ?? Date.now() };
      this.confirmed = { ...this.confirmed, [sessionId]: [...(this.confirmed[sessionId] ?? []), line] };
    }
  }

  #onRejected(entry: OutboxEntry, code: string, message: string): void {
    const sessionId = sessionOf(entry.destination);
    if (!entry.destination.endsWith('/messages')) return this.#setNotice(sessionId, describeRejection(code, message, entry.destination));
    const reason = describeRejection(code, message);
    const line = { messageId: String(entry.body.messageId), body: String(entry.body.body), createdAt: entry.createdAt ?? Date.now(), code, reason };
    this.failures = { ...this.failures, [sessionId]: [...(this.failures[sessionId] ?? []), line] };
    this.#emit('chat-message-failed', { sessionId, messageId: line.messageId, code, reason });
    this.#announce(`Message not sent. ${reason}`);
  }

  #showTyping(sessionId: string, typing: boolean): void {
    clearTimeout(this.#typingTimers[sessionId]);
    this.customerTyping = { ...this.customerTyping, [sessionId]: typing };
    if (typing) {
      this.#typingTimers[sessionId] = setTimeout(() => (this.customerTyping = { ...this.customerTyping, [sessionId]: false }), TYPING_SHOWN_MS);
    }
  }

  /** Read receipt for the customer's messages of the tab in view (not while a narrow console shows the inbox). */
  #markRead(): void {
    const sessionId = this.activeTab;
    const conversation = sessionId ? this.conversations[sessionId] : undefined;
    if (!sessionId || !conversation || document.visibilityState !== 'visible' || this.status.state !== 'online') return;
    if (this.#view() === 'inbox') return;
    if (conversation.status === 'none' || conversation.agent?.id !== this.agentId) return; // only the assigned agent may
    const last = unreadFor(conversation, 'agent').at(-1);
    if (!last || this.#readRequested[sessionId] === last.messageId) return;
    this.#readRequested[sessionId] = last.messageId;
    this.#connection?.request(destinations.command(sessionId, 'read'), { upToMessageId: last.messageId }).then(
      () => {
        const item = this.inbox[sessionId];
        if (item) this.inbox = { ...this.inbox, [sessionId]: { ...item, unread: 0 } };
      },
      () => delete this.#readRequested[sessionId],
    );
  }

  // ---- what the agent does ----

  #openTab(sessionId: string): void {
    if (!this.tabs.includes(sessionId)) {
      // What the inbox listed already is history when the tab replays it, not news.
      this.#historyUpTo[sessionId] = this.inbox[sessionId]?.revision ?? -1;
      this.tabs = [...this.tabs, sessionId];
      this.conversations = { ...this.conversations, [sessionId]: emptyConversation(sessionId) };
      this.#connection?.watchSession(sessionId);
    }
    this.activeTab = sessionId;
    this.showing = 'chat';
    this.#focusShown();
  }

  /** A narrow console's way back from the chat. */
  #showInbox(): void {
    this.showing = 'inbox';
    this.#focusShown();
  }

  /**
   * Once rendered, the focus goes to where what the console shows starts: the open chat's tab, or,
   * on a narrow console, the chat's heading (not its reply box: a phone's keyboard would cover the
   * messages to read), or the chat's entry in the inbox.
   */
  #focusShown(): void {
    void this.updateComplete.then(() => {
      const selectors = {
        both: ['[role="tab"][aria-selected="true"]', '.item'],
        chat: ['.pane h2'],
        inbox: [`.item[data-session-id="${this.activeTab}"]`, '.item'],
      }[this.#view()];
      const root = this.renderRoot;
      selectors.map((selector) => root.querySelector<HTMLElement>(selector)).find((target) => target !== null)?.focus();
    });
  }

  #closeTab(sessionId: string): void {
    this.#connection?.unwatchSession(sessionId);
    const index = this.tabs.indexOf(sessionId);
    this.tabs = this.tabs.filter((tab) => tab !== sessionId);
    const { [sessionId]: _closed, ...rest } = this.conversations;
    this.conversations = rest;
    delete this.#historyUpTo[sessionId];
    if (this.activeTab === sessionId) this.activeTab = this.tabs[Math.min(index, this.tabs.length - 1)];
    // The button pressed is gone: focus goes to the tab now shown, or to the inbox.
    void this.updateComplete.then(() => {
      const root = this.renderRoot;
      (root.querySelector<HTMLElement>('[role="tab"][aria-selected="true"]') ?? root.querySelector<HTMLElement>('.item'))?.focus();
    });
  }

  #onTabKey(event: KeyboardEvent): void {
    const index = this.tabs.indexOf(this.activeTab ?? '');
    const moves: Record<string, number> = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: this.tabs.length - 1 };
    const target = moves[event.key];
    if (target === undefined || this.tabs.length === 0) return;
    event.preventDefault();
    const sessionId = this.tabs[(target + this.tabs.length) % this.tabs.length]!;
    this.activeTab = sessionId;
    void this.updateComplete.then(() => this.renderRoot.querySelector<HTMLElement>(`#tab-${sessionId}`)?.focus());
  }

  /**
   * Take, hand back or close a session, through the outbox: behind the replies written before,
   * and sent again after a drop until stored (the server takes each again as done) or refused.
   * `chat-session-closed` follows from the session's event.
   */
  #act(sessionId: string, action: 'join' | 'leave' | 'close'): void {
    this.#setNotice(sessionId, '');
    if (this.#connection?.enqueue(`${action}-${randomId()}`, destinations.command(sessionId, action), {}) === false) this.#setNotice(sessionId, OUTBOX_FULL);
  }

  #setNotice(sessionId: string, text: string): void {
    this.notices = { ...this.notices, [sessionId]: text };
    if (text) this.#announce(text);
  }

  #send(sessionId: string, event?: Event): void {
    event?.preventDefault();
    const body = messageOf(this.drafts[sessionId] ?? '');
    if (body === undefined || !this.#connection) return;
    const messageId = randomId();
    if (!this.#connection.enqueue(messageId, destinations.command(sessionId, 'messages'), { messageId, body })) {
      this.#setNotice(sessionId, OUTBOX_FULL);
      return;
    }
    this.drafts = { ...this.drafts, [sessionId]: '' };
    this.#stopTyping(sessionId);
  }

  #onInput(sessionId: string, event: InputEvent): void {
    const draft = (event.target as HTMLTextAreaElement).value;
    const problem = newlyTooLong(this.drafts[sessionId] ?? '', draft, MESSAGE);
    this.drafts = { ...this.drafts, [sessionId]: draft };
    if (problem) this.#announce(problem);
    if (Date.now() - (this.#typingSent[sessionId] ?? 0) > TYPING_IDLE_MS) {
      this.#typingSent[sessionId] = Date.now();
      this.#connection?.typing(sessionId, true);
    }
    clearTimeout(this.#typingTimers[`own-${sessionId}`]);
    this.#typingTimers[`own-${sessionId}`] = setTimeout(() => this.#stopTyping(sessionId), TYPING_IDLE_MS);
  }

  #stopTyping(sessionId: string): void {
    clearTimeout(this.#typingTimers[`own-${sessionId}`]);
    if (!this.#typingSent[sessionId]) return;
    delete this.#typingSent[sessionId];
    this.#connection?.typing(sessionId, false);
  }

  #announce(text: string): void {
    this.announcement = '';
    setTimeout(() => (this.announcement = text), 100);
  }

  #emit(name: string, detail: object): void {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  // ---- rendering ----

  /** What the console shows: the inbox and the open chat side by side, or, when narrow, one of them. */
  #view(): 'both' | 'inbox' | 'chat' {
    if (!this.oneAtATime) return 'both';
    return this.showing === 'chat' && this.activeTab !== undefined ? 'chat' : 'inbox';
  }

  protected override render(): TemplateResult {
    const view = this.#view();
    // Narrow, the notices go above whichever of the two is shown.
    const notices = html`
      ${this.#renderStatus()}
      ${this.loadError ? html`<p class="status error" role="alert">${this.loadError}</p>` : nothing}
    `;
    return html`
      <div class="visually-hidden" aria-live="polite" aria-atomic="true">${this.announcement}</div>
      <div class="layout" data-view=${view}>
        ${view === 'both' ? nothing : notices}
        ${this.#renderInbox()}
        <section class="workspace" aria-label="Open chats">
          ${view === 'both' ? notices : this.#renderBack()}
          ${this.tabs.length === 0
            ? html`<p class="placeholder">Pick a chat in the inbox to read it; take a waiting one to answer.</p>`
            : html`
                <div role="tablist" part="tabs" aria-label="Open chats" @keydown=${this.#onTabKey}>
                  ${this.tabs.map((sessionId) => this.#renderTab(sessionId))}
                </div>
                ${this.activeTab ? this.#renderPane(this.activeTab) : nothing}
              `}
        </section>
      </div>
    `;
  }

  #renderStatus(): TemplateResult | typeof nothing {
    const status = this.status;
    if (status.state === 'offline') {
      // The countdown is hidden from screen readers: in a live region it would be read out every second.
      return html`<p class="status" part="status" role="status">
        Can’t reach the chat server.
        <span aria-hidden="true">Retrying in ${secondsUntil(status.retryAt, this.now)} s…</span>
        <button type="button" @click=${() => this.#connection?.reconnectNow()}>Retry now</button>
      </p>`;
    }
    if (status.state === 'auth-required') {
      return html`<p class="status error" part="status" role="status">Your sign-in has expired or was refused; waiting for a new one.</p>`;
    }
    return nothing;
  }

  /** A narrow console's way back to the inbox, with what waits there besides the chat shown. */
  #renderBack(): TemplateResult {
    const { waiting, unread } = besides(this.inbox, this.agentId, this.activeTab);
    const counts = [
      ...(waiting > 0 ? [`${waiting}${this.cutLists.waiting ? '+' : ''} waiting`] : []),
      ...(unread > 0 ? [`${unread} unread`] : []),
    ];
    return html`
      <button class="back" part="back" aria-label=${['Back to inbox', ...counts].join(', ')} @click=${() => this.#showInbox()}>
        <span aria-hidden="true">‹</span> Inbox
        ${counts.map((count) => html`<span class="count">${count}</span>`)}
      </button>
    `;
  }

  #renderInbox(): TemplateResult {
    const lists = sections(this.inbox, this.agentId);
    return html`
      <nav class="inbox" part="inbox" aria-label="Inbox">
        <div class="who">Signed in as <strong>${this.#claims?.name ?? this.agentId}</strong></div>
        ${(['waiting', 'active', 'closed'] as const).map((status) => html`
          <h2 id="section-${status}">${SECTION_TITLES[status]} (${lists[status].length}${this.cutLists[status] ? '+' : ''})</h2>
          ${this.cutLists[status]
            ? html`<p class="empty" role="note">${CUT_LIST_NOTES[status]}</p>`
            : nothing}
          ${lists[status].length === 0
            ? html`<p class="empty">None</p>`
            : html`<ul aria-labelledby="section-${status}">${lists[status].map((item) => html`<li>${this.#renderItem(item)}</li>`)}</ul>`}
        `)}
      </nav>
    `;
  }

  #renderItem(item: InboxItem): TemplateResult {
    const mine = item.agentId === this.agentId;
    const who = item.status === 'active' ? (mine ? 'with you' : `with ${item.agentName ?? item.agentId}`) : `customer ${item.customerId}`;
    return html`
      <button
        class="item"
        part="inbox-item"
        data-session-id=${item.sessionId}
        aria-current=${this.activeTab === item.sessionId ? 'true' : 'false'}
        @click=${() => this.#openTab(item.sessionId)}
      >
        <span class="subject">${item.subject}</span>
        ${item.unread > 0 ? html`<span class="unread" aria-label="${item.unread} unread">${item.unread}</span>` : html`<span></span>`}
        <span class="who-line">${who}${item.lastMessageAt ? html` · <time datetime=${item.lastMessageAt}>${timeOfDay(item.lastMessageAt)}</time>` : nothing}</span>
        ${item.lastMessagePreview ? html`<span class="preview">${item.lastMessagePreview}</span>` : nothing}
      </button>
    `;
  }

  #renderTab(sessionId: string): TemplateResult {
    const selected = sessionId === this.activeTab;
    const title = this.conversations[sessionId]?.subject ?? this.inbox[sessionId]?.subject ?? 'Chat';
    const unread = this.inbox[sessionId]?.unread ?? 0;
    return html`
      <button
        role="tab"
        part="tab"
        id="tab-${sessionId}"
        aria-selected=${selected ? 'true' : 'false'}
        aria-controls=${selected ? `pane-${sessionId}` : nothing}
        tabindex=${selected ? '0' : '-1'}
        @click=${() => (this.activeTab = sessionId)}
      >${title}${unread > 0 && !selected ? ` (${unread})` : ''}</button>
    `;
  }

  #renderPane(sessionId: string): TemplateResult {
    const conversation = this.conversations[sessionId];
    const item = this.inbox[sessionId];
    const status = conversation && conversation.status !== 'none' ? conversation.status : item?.status;
    const mine = conversation?.agent?.id === this.agentId && status === 'active';
    const pending = pendingLines(
      this.outbox, this.confirmed[sessionId] ?? [], this.failures[sessionId] ?? [], sessionId, this.status.state === 'online',
      (messageId) => conversation?.messageRevisions[messageId] !== undefined,
    );
    const online = this.status.state === 'online';
    return html`
      <section class="pane" part="pane" role="tabpanel" id="pane-${sessionId}" aria-labelledby="tab-${sessionId}">
        <div class="pane-header">
          <h2 tabindex="-1">
            ${conversation?.subject ?? item?.subject ?? 'Chat'}
            <span class="facts">Customer ${conversation?.customerId ?? item?.customerId ?? ''} · ${this.#statusText(conversation, status)}</span>
          </h2>
          ${status === 'waiting' ? html`<button class="primary" ?disabled=${!online} @click=${() => this.#act(sessionId, 'join')}>Take chat</button>` : nothing}
          ${mine ? html`<button ?disabled=${!online} @click=${() => this.#act(sessionId, 'leave')}>Hand back</button>` : nothing}
          ${mine ? html`<button ?disabled=${!online} @click=${() => this.#act(sessionId, 'close')}>Close chat</button>` : nothing}
          <button aria-label="Close tab" title="Close tab" @click=${() => this.#closeTab(sessionId)}>✕</button>
        </div>
        ${this.notices[sessionId] ? html`<p class="status error" role="alert">${this.notices[sessionId]}</p>` : nothing}
        <div class="scroll">
          ${transcript(conversation, {
            label: 'Conversation',
            isOwn: (line) => line.senderType === 'agent' && line.senderId === this.agentId,
            senderName: (line) => (line.senderType === 'user' ? 'Customer' : conversation?.agentNames[line.senderId] ?? line.senderId),
            systemText: (line) => this.#systemText(line),
            pending,
            onDismiss: (messageId) => (this.failures = without(this.failures, sessionId, messageId)),
          })}
          <p class="typing">${this.customerTyping[sessionId] ? 'The customer is typing…' : ''}</p>
        </div>
        ${mine
          ? html`
              ${composer({
                label: 'Reply',
                placeholder: 'Write a reply…',
                draft: this.drafts[sessionId] ?? '',
                onInput: (event) => this.#onInput(sessionId, event),
                onSend: (event) => this.#send(sessionId, event),
              })}
            `
          : html`<p class="note">${this.#readOnlyReason(conversation, status)}</p>`}
      </section>
    `;
  }

  #statusText(conversation: Conversation | undefined, status: SessionStatus | 'none' | undefined): string {
    if (status === 'active') return conversation?.agent?.id === this.agentId ? 'with you' : `with ${conversation?.agent?.name ?? 'another agent'}`;
    if (status === 'closed') return conversation?.rating ? `closed, rated ${conversation.rating.rating}/5` : 'closed';
    return status === 'waiting' ? 'waiting for an agent' : 'loading…';
  }

  #readOnlyReason(conversation: Conversation | undefined, status: SessionStatus | 'none' | undefined): string {
    if (status === 'waiting') return 'Take the chat to answer.';
    if (status === 'closed') return 'This chat is closed.';
    if (status === 'active') return `${conversation?.agent?.name ?? 'Another agent'} is handling this chat.`;
    return '';
  }

  #systemText(line: SystemLine): string {
    const who = line.actorId === this.agentId ? 'You' : line.actorName ?? 'The customer';
    switch (line.event) {
      case 'opened':
        return `Chat opened: ${line.detail ?? ''}`;
      case 'joined':
        return `${who} joined.`;
      case 'left':
        return `${who} handed the chat back.`;
      case 'closed':
        return `${who} closed the chat.${line.detail ? ` (${line.detail})` : ''}`;
      case 'rated':
        return `The customer rated the chat ${line.detail}/5.`;
    }
  }
}

/** The session id of a `/app/chat/{id}/…` destination. */
function sessionOf(destination: string): string {
  return destination.split('/')[3] ?? '';
}

function without(lines: PerSession<readonly OwnPending[]>, sessionId: string, messageId: string): PerSession<readonly OwnPending[]> {
  const current = lines[sessionId];
  return current ? { ...lines, [sessionId]: current.filter((line) => line.messageId !== messageId) } : lines;
}

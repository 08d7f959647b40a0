/** What `npm run bench -- soak` counts, interval by interval, and how it reads the run at the end. */
import type { ServerMetrics } from './server-process.js';
import { fmt, mib, ms, percent, quantile, sec } from './stats.js';

/** A message counts as lost when its RECEIPT, or its MESSAGE at the peer, has not come in this long. */
const LOST_AFTER_MS = 30_000;

/** What happened between two reports. */
export class Interval {
  /** From each message's scheduled send time to its RECEIPT at the sender. */
  readonly receiptMs: number[] = [];
  /** From each message's scheduled send time to its MESSAGE at the other participant. */
  readonly deliveryMs: number[] = [];
  /** Messages RECEIPTed. */
  messages = 0;
  /** Other commands RECEIPTed: open, join, read, typing, close, rating, subscriptions. */
  commands = 0;
  sessionsRated = 0;
  reconnects = 0;
  /** SENDs resent, with their ids, after the connection dropped before their answer came. */
  resent = 0;
  /** Messages without their RECEIPT or peer MESSAGE after 30 s. */
  lost = 0;
  /** Revisions a subscription received twice, out of order, or never (a gap). */
  anomalies = 0;
  /** Sockets the server closed, and conversations that broke on an unexpected answer. */
  failures = 0;
  readonly rejections = new Map<string, number>();
}

interface PendingMessage {
  readonly at: number;
  /** Who should get it: deliveries to a participant that drops are not timed (they come by catch-up). */
  readonly recipient: object;
  receipted: boolean;
  /** Delivered, or not to be timed any more. */
  delivered: boolean;
}

/** Messages in flight, and the interval in progress. */
export class Recorder {
  interval = new Interval();
  readonly #pending = new Map<string, PendingMessage>();

  /** `timeDelivery` false: the recipient is away, the MESSAGE will come by catch-up. */
  messageSent(messageId: string, scheduledAt: number, recipient: object, timeDelivery: boolean): void {
    this.#pending.set(messageId, { at: scheduledAt, recipient, receipted: false, delivered: !timeDelivery });
  }

  /** A RECEIPT of a message (its receipt id is its message id) or of another command. */
  receipt(receiptId: string): void {
    const message = this.#pending.get(receiptId);
    if (!message) {
      this.interval.commands++;
      return;
    }
    message.receipted = true;
    this.interval.messages++;
    this.interval.receiptMs.push(performance.now() - message.at);
    this.#settle(receiptId, message);
  }

  /** A `ChatMessageSent` MESSAGE that reached `recipient`. */
  delivered(messageId: string, recipient: object): void {
    const message = this.#pending.get(messageId);
    if (!message || message.delivered || message.recipient !== recipient) return;
    message.delivered = true;
    this.interval.deliveryMs.push(performance.now() - message.at);
    this.#settle(messageId, message);
  }

  /** `recipient` drops: what it has not received yet it will get by catch-up, not timed. */
  recipientAway(recipient: object): void {
    for (const [messageId, message] of this.#pending) {
      if (message.recipient !== recipient) continue;
      message.delivered = true;
      this.#settle(messageId, message);
    }
  }

  /** Whether a message sent to `recipient` is still expected there. */
  awaited(recipient: object): boolean {
    for (const message of this.#pending.values()) if (message.recipient === recipient && !message.delivered) return true;
    return false;
  }

  rejected(code: string, receiptId: string | undefined): void {
    this.interval.rejections.set(code, (this.interval.rejections.get(code) ?? 0) + 1);
    if (receiptId !== undefined) this.#pending.delete(receiptId);
  }

  /** Ends the interval in progress; messages pending too long count as lost in it. */
  next(): Interval {
    const now = performance.now();
    for (const [messageId, message] of this.#pending) {
      if (now - message.at < LOST_AFTER_MS) continue;
      this.interval.lost++;
      this.#pending.delete(messageId);
    }
    const ended = this.interval;
    this.interval = new Interval();
    return ended;
  }

  get inFlight(): number {
    return this.#pending.size;
  }

  #settle(messageId: string, message: PendingMessage): void {
    if (message.receipted && message.delivered) this.#pending.delete(messageId);
  }
}

/** One report: an interval's traffic and the server's state at its end. */
export interface Report {
  /** Seconds since the traffic started, at the end of the interval. */
  readonly at: number;
  readonly seconds: number;
  readonly traffic: Interval;
  readonly server: ServerMetrics;
  /** Share of one core the server used in the interval, in percent. */
  readonly serverCpuPercent: number;
  /** The largest projection lag seen in the interval (sampled every 2 s), in events. */
  readonly projectionLagMax: number;
  /** This process's own event-loop delay p99: when high, the load generator is the bottleneck. */
  readonly benchLoopP99Ms: number;
  /** The share of the machine's time the hypervisor stole in the interval, in percent (`NaN`: not counted). */
  readonly stolenPercent: number;
  /** The CPU time DAMON's kernel thread used in the interval, in seconds (`NaN`: no DAMON). */
  readonly damonSeconds: number;
}

export const REPORT_HEADER =
  '   time  msg/s  cmd/s  RECEIPT p99  MESSAGE p99       RSS  heap used  loop p99  loop max  lag  CPU %  bench loop  stolen  kdamond  rated  reconn  lost  anomalies  failures  rejections';

export function reportLine(report: Report): string {
  const { traffic, server } = report;
  const rejections = [...traffic.rejections].map(([code, count]) => `${code}×${count}`).join(' ') || '-';
  return [
    clock(report.at).padStart(7),
    fmt(traffic.messages / report.seconds).padStart(6),
    fmt(traffic.commands / report.seconds).padStart(6),
    ms(quantile(traffic.receiptMs, 0.99)).padStart(12),
    ms(quantile(traffic.deliveryMs, 0.99)).padStart(12),
    mib(server.rssBytes).padStart(9),
    mib(server.heapUsedBytes).padStart(10),
    ms(server.eventLoopP99Ms).padStart(9),
    ms(server.eventLoopMaxMs).padStart(9),
    fmt(report.projectionLagMax).padStart(4),
    fmt(report.serverCpuPercent).padStart(6),
    ms(report.benchLoopP99Ms).padStart(11),
    percent(report.stolenPercent).padStart(7),
    sec(report.damonSeconds).padStart(8),
    fmt(traffic.sessionsRated).padStart(6),
    fmt(traffic.reconnects).padStart(7),
    fmt(traffic.lost).padStart(5),
    fmt(traffic.anomalies).padStart(10),
    fmt(traffic.failures).padStart(9),
    ` ${rejections}`,
  ].join(' ');
}

function clock(seconds: number): string {
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`;
}

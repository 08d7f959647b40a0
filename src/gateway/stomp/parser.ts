/**
 * The STOMP reader of a connection: a state machine fed the client's bytes in chunks of any
 * size, with no idea of the transport (the design of stomp-js's parser, written for a server:
 * it enforces limits and reports violations instead of trusting its peer). Lines and
 * NUL-terminated bodies are found with `indexOf` on the chunk; only the unfinished tail of a
 * chunk is copied, into a buffer bounded by the limits.
 */
import { isUtf8 } from 'node:buffer';
import { ByteAccumulator } from './byte-accumulator.js';
import { malformed, StompProtocolError } from './errors.js';
import {
  CLIENT_COMMANDS,
  DEFAULT_STOMP_LIMITS,
  type ClientCommand,
  type StompClientFrame,
  type StompLimits,
} from './frame.js';
import { type HeaderEscaping, headerEscaping, verbatim } from './header-escaping.js';
import { negotiateVersion } from './version.js';

const NUL = 0x00;
const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const LONGEST_COMMAND = Math.max(...CLIENT_COMMANDS.map((command) => command.length));
/** Each command by its name: a frame's command is one of these strings, not a copy made per frame. */
const COMMANDS: ReadonlyMap<string, ClientCommand> = new Map(CLIENT_COMMANDS.map((command) => [command, command]));
/** The headers between frames: never written, as each command line makes the next frame's map. */
const NO_HEADERS: Map<string, string> = new Map();

/** What a chunk yielded, in order. After an `error` nothing else is ever yielded. */
export type StompParserEvent =
  | { readonly type: 'frame'; readonly frame: StompClientFrame }
  | { readonly type: 'heartbeat' }
  | { readonly type: 'error'; readonly error: StompProtocolError };

const heartbeat: StompParserEvent = Object.freeze({ type: 'heartbeat' });

/** Where the parser is in a frame: the body states differ by how its end is found. */
type State = 'command' | 'headers' | 'sized-body' | 'nul-terminated-body';

/**
 * Reads client frames from a byte stream. `push` never throws: a violation is yielded as an
 * `error` event, after which the parser ignores all input (the connection sends ERROR and
 * closes). Heart-beats are the end-of-line octets (`\n` or `\r\n`) between frames.
 *
 * Headers are decoded as the version that the first CONNECT (or STOMP) frame's `accept-version`
 * agrees on escapes them (STOMP 1.2 until then, and when it agrees on none: the connection
 * refuses it), from the frame after it on: a client may send its first frames together.
 *
 * The events do not depend on how the stream is cut into chunks, with two exceptions: of a frame
 * that breaks several limits at once, the one reported may be the first one a chunk reveals; and
 * the limit on frames a chunk completes is a limit on chunks.
 */
export class StompParser {
  readonly #limits: StompLimits;
  readonly #held = new ByteAccumulator();
  #state: State = 'command';
  #failed = false;
  #command: ClientCommand = 'CONNECT'; // each command line sets it before its headers are read
  #escaping: HeaderEscaping = headerEscaping('1.2');
  /** The first CONNECT (or STOMP) frame was read: its version sets `#escaping` for good. */
  #versionAgreed = false;
  #headers = NO_HEADERS;
  #headerCount = 0;
  /** Bytes of the current frame already consumed, whose content now lives in `#headers`. */
  #frameBytes = 0;
  #bodyRemaining = 0;
  /** Frames completed by the chunk being read. */
  #framesInChunk = 0;

  /** @throws RangeError when a limit is not a positive integer. */
  constructor(limits: Partial<StompLimits> = {}) {
    this.#limits = { ...DEFAULT_STOMP_LIMITS, ...limits };
    for (const [name, value] of Object.entries(this.#limits)) {
      if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer, got ${value}`);
    }
  }

  /** Bytes of the unfinished frame held so far; never more than `maxFrameBytes`. */
  get bufferedBytes(): number {
    return this.#frameBytes + this.#held.length;
  }

  /** Whether a protocol error ended the stream. */
  get failed(): boolean {
    return this.#failed;
  }

  /**
   * Feeds the next chunk: bytes, or a string from a WebSocket text message (sent as UTF-8).
   * Returns the frames, heart-beats and at most one error it completed, in order.
   */
  push(chunk: Uint8Array | string): StompParserEvent[] {
    const events: StompParserEvent[] = [];
    if (this.#failed) return events;
    const bytes = toBuffer(chunk);
    this.#framesInChunk = 0;
    try {
      let position = 0;
      while (position < bytes.length) position = this.#step(bytes, position, events);
    } catch (error) {
      if (!(error instanceof StompProtocolError)) throw error;
      this.#fail();
      events.push({ type: 'error', error });
    }
    return events;
  }

  /** Consumes what the current state can from `bytes` at `position`; returns where it stopped. */
  #step(bytes: Buffer, position: number, events: StompParserEvent[]): number {
    switch (this.#state) {
      case 'command':
      case 'headers':
        return this.#stepLine(bytes, position, events);
      case 'sized-body':
        return this.#stepSizedBody(bytes, position, events);
      case 'nul-terminated-body':
        return this.#stepNulTerminatedBody(bytes, position, events);
    }
  }

  #stepLine(bytes: Buffer, start: number, events: StompParserEvent[]): number {
    const lf = bytes.indexOf(LF, start);
    const end = lf === -1 ? bytes.length : lf;
    this.#checkLine(bytes, start, end, lf !== -1);
    if (lf === -1) {
      this.#held.append(bytes.subarray(start, end));
      return end;
    }
    const line = this.#held.length === 0 ? bytes.subarray(start, end) : this.#held.take(bytes.subarray(start, end));
    this.#frameBytes += line.length + 1;
    const content = line.at(-1) === CR ? line.subarray(0, -1) : line;
    if (this.#state === 'command') this.#onCommandLine(content, events);
    else this.#onHeaderLine(content);
    return lf + 1;
  }

  /** Rejects a line, finished or not, as soon as it breaks a rule. */
  #checkLine(bytes: Buffer, start: number, end: number, finished: boolean): void {
    const length = this.#held.length + end - start;
    const last = end > start ? bytes[end - 1] : this.#held.lastByte;
    // A trailing CR may be the first half of the CRLF end of line.
    const content = last === CR ? length - 1 : length;
    if (this.#state === 'command') {
      if (content > LONGEST_COMMAND) throw unknownCommand(this.#held.peek(bytes.subarray(start, end)));
    } else {
      this.#checkHeaderLine(content, bytes.subarray(start, end));
    }
    this.#checkFrameSize(this.#frameBytes + length + (finished ? 1 : 0));
  }

  /** `segment` is the part of the line not checked yet. */
  #checkHeaderLine(contentLength: number, segment: Buffer): void {
    if (contentLength > this.#limits.maxHeaderLineBytes) {
      throw new StompProtocolError('HEADER_LINE_TOO_LONG', `header line longer than ${this.#limits.maxHeaderLineBytes} bytes`);
    }
    // The grammar allows NUL in headers, but there it only ever means a forgotten blank line.
    if (segment.includes(NUL)) throw malformed('NUL byte in the headers (missing blank line before the body?)');
  }

  #onCommandLine(line: Buffer, events: StompParserEvent[]): void {
    if (line.length === 0) {
      this.#frameBytes = 0;
      events.push(heartbeat);
      return;
    }
    const command = COMMANDS.get(line.toString('latin1'));
    if (command === undefined) throw unknownCommand(line);
    this.#command = command;
    this.#headers = new Map();
    this.#state = 'headers';
  }

  #onHeaderLine(line: Buffer): void {
    if (line.length === 0) return this.#startBody();
    if (++this.#headerCount > this.#limits.maxHeaders) {
      throw new StompProtocolError('TOO_MANY_HEADERS', `too many headers (max ${this.#limits.maxHeaders})`);
    }
    const colon = line.indexOf(COLON);
    if (colon === -1) throw malformed('header line without a colon');
    if (colon === 0) throw malformed('header with an empty name');
    if (!isUtf8(line)) throw malformed('header is not valid UTF-8');
    // No version has a CR in a header: in 1.2 the escape \r stands for one.
    if (line.includes(CR)) throw malformed('CR in a header line (only CRLF ends one)');
    // No version escapes CONNECT (nor its alias STOMP), for 1.0 clients.
    const decode = this.#command === 'CONNECT' || this.#command === 'STOMP' ? verbatim : this.#escaping.unescape;
    const name = decode(line.toString('utf8', 0, colon));
    const value = decode(line.toString('utf8', colon + 1));
    if (!this.#headers.has(name)) this.#headers.set(name, value);
  }

  #startBody(): void {
    const contentLength = this.#headers.get('content-length');
    if (contentLength === undefined) {
      this.#state = 'nul-terminated-body';
      return;
    }
    if (!/^[0-9]+$/.test(contentLength)) throw malformed('content-length is not a number');
    this.#bodyRemaining = Number(contentLength);
    this.#checkFrameSize(this.#frameBytes + this.#bodyRemaining + 1);
    this.#state = 'sized-body';
  }

  /** Takes `content-length` bytes whatever they are (NUL included), then requires the NUL. */
  #stepSizedBody(bytes: Buffer, start: number, events: StompParserEvent[]): number {
    const end = Math.min(bytes.length, start + this.#bodyRemaining);
    this.#bodyRemaining -= end - start;
    if (end === bytes.length) {
      this.#held.append(bytes.subarray(start, end));
      return end;
    }
    if (bytes[end] !== NUL) throw malformed('body not terminated by NUL after content-length bytes');
    this.#emitFrame(this.#held.take(bytes.subarray(start, end)), events);
    return end + 1;
  }

  /** Without `content-length`, the body ends at the first NUL. */
  #stepNulTerminatedBody(bytes: Buffer, start: number, events: StompParserEvent[]): number {
    const nul = bytes.indexOf(NUL, start);
    const end = nul === -1 ? bytes.length : nul;
    this.#checkFrameSize(this.bufferedBytes + end - start + (nul === -1 ? 0 : 1));
    if (nul === -1) {
      this.#held.append(bytes.subarray(start, end));
      return end;
    }
    this.#emitFrame(this.#held.take(bytes.subarray(start, end)), events);
    return nul + 1;
  }

  #emitFrame(body: Buffer, events: StompParserEvent[]): void {
    // STOMP 1.2, "Body": only SEND (of the client frames) may have one.
    if (body.length > 0 && this.#command !== 'SEND') throw malformed(`${this.#command} frame must not have a body`);
    if (++this.#framesInChunk > this.#limits.maxFramesPerChunk) {
      throw new StompProtocolError('TOO_MANY_FRAMES', `more than ${this.#limits.maxFramesPerChunk} frames in one message`);
    }
    events.push({ type: 'frame', frame: { command: this.#command, headers: this.#headers, body } });
    if ((this.#command === 'CONNECT' || this.#command === 'STOMP') && !this.#versionAgreed) {
      this.#versionAgreed = true;
      this.#escaping = headerEscaping(negotiateVersion(this.#headers.get('accept-version')) ?? '1.2');
    }
    this.#startFrame();
  }

  #checkFrameSize(bytes: number): void {
    if (bytes > this.#limits.maxFrameBytes) {
      throw new StompProtocolError('FRAME_TOO_LARGE', `frame exceeds ${this.#limits.maxFrameBytes} bytes`);
    }
  }

  /**
   * Keeps nothing of the frame just read. What the parser held between two frames would live as
   * long as the client is silent, on a quiet connection long enough for V8 to move it to the old
   * generation, where only a full collection frees it (and everything it points to).
   */
  #startFrame(): void {
    this.#state = 'command';
    this.#headers = NO_HEADERS;
    this.#headerCount = 0;
    this.#frameBytes = 0;
    this.#bodyRemaining = 0;
    this.#held.clear();
  }

  #fail(): void {
    this.#startFrame();
    this.#failed = true;
  }
}

function toBuffer(chunk: Uint8Array | string): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** Names the offending command line, its first bytes, with anything unprintable as `\xHH`. */
function unknownCommand(line: Buffer): StompProtocolError {
  const shown = line
    .subarray(0, LONGEST_COMMAND)
    .toString('latin1')
    .replace(/[^\x21-\x7e]/g, (character) => `\\x${character.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return new StompProtocolError('UNKNOWN_COMMAND', `unknown command ${shown}${line.length > LONGEST_COMMAND ? '...' : ''}`);
}

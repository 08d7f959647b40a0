import type { StompProtocolErrorCode } from './errors.js';
import { DEFAULT_STOMP_LIMITS, type StompLimits } from './frame.js';
import { StompParser, type StompParserEvent } from './parser.js';

/** Every event of `chunks` pushed one after the other into a new parser with these limits. */
function parse(limits: Partial<StompLimits>, ...chunks: Array<Uint8Array | string>): StompParserEvent[] {
  const parser = new StompParser(limits);
  return chunks.flatMap((chunk) => parser.push(chunk));
}

/** The error event, if the events end with one, as `[code, message]`. */
function failure(events: StompParserEvent[]): [StompProtocolErrorCode, string] | undefined {
  const last = events.at(-1);
  return last?.type === 'error' ? [last.error.code, last.error.message] : undefined;
}

const types = (events: StompParserEvent[]) => events.map((event) => event.type);
const KiB = 1024;
const MiB = 1024 * KiB;

describe('StompParser limits', () => {
  describe('frame size (headers and body, command to NUL)', () => {
    const limits = { maxFrameBytes: 64 };
    // 'SEND\n' + '\n' + body + NUL: 7 bytes around the body.
    const unsized = (bodyBytes: number) => `SEND\n\n${'a'.repeat(bodyBytes)}\0`;
    // 'SEND\ncontent-length:NN\n\n' + body + NUL: 25 bytes around a 2-digit body length.
    const sized = (bodyBytes: number) => `SEND\ncontent-length:${bodyBytes}\n\n${'a'.repeat(bodyBytes)}\0`;

    it.each([
      ['without content-length', unsized(57)],
      ['with content-length', sized(39)],
    ])('accepts a frame of exactly the limit %s', (_, frame) => {
      expect(frame).toHaveLength(64);
      expect(types(parse(limits, frame))).toEqual(['frame']);
    });

    it.each([
      ['without content-length', unsized(58)],
      ['with content-length', sized(40)],
    ])('rejects a frame one byte over the limit %s, whole or cut anywhere', (_, frame) => {
      expect(failure(parse(limits, frame))).toEqual(['FRAME_TOO_LARGE', 'frame exceeds 64 bytes']);
      for (let offset = 0; offset <= frame.length; offset += 1) {
        expect(failure(parse(limits, frame.slice(0, offset), frame.slice(offset)))?.[0]).toBe('FRAME_TOO_LARGE');
      }
    });

    it('rejects a frame whose content-length announces more than the limit before any body byte', () => {
      const parser = new StompParser();

      expect(failure(parser.push(`SEND\ncontent-length:${10 * MiB}\n\n`))).toEqual(['FRAME_TOO_LARGE', 'frame exceeds 65536 bytes']);
      expect(parser.bufferedBytes).toBe(0);
    });

    it('rejects a content-length too long to be a safe integer as too large', () => {
      expect(failure(parse({}, `SEND\ncontent-length:${'9'.repeat(400)}\n\n`))?.[0]).toBe('FRAME_TOO_LARGE');
    });

    it.each([
      ['without content-length', 'SEND\ndestination:/app/chat/open\n\n'],
      ['with content-length', `SEND\ncontent-length:${10 * MiB}\n\n`],
    ])('stops a 10 MiB frame fed in 64 KiB chunks %s early, never holding more than the limit', (_, head) => {
      const frame = Buffer.concat([Buffer.from(head), Buffer.alloc(10 * MiB, 'a'), Buffer.from([0])]);
      const parser = new StompParser();
      let chunks = 0;
      let mostHeld = 0;
      let events: StompParserEvent[] = [];
      while (failure(events) === undefined && chunks * 64 * KiB < frame.length) {
        events = parser.push(frame.subarray(chunks * 64 * KiB, (chunks + 1) * 64 * KiB));
        chunks += 1;
        mostHeld = Math.max(mostHeld, parser.bufferedBytes);
      }

      expect(failure(events)).toEqual(['FRAME_TOO_LARGE', 'frame exceeds 65536 bytes']);
      expect(chunks).toBeLessThanOrEqual(2);
      expect(mostHeld).toBeLessThanOrEqual(DEFAULT_STOMP_LIMITS.maxFrameBytes);
      expect(parser.bufferedBytes).toBe(0);
    });

    it('does not count heart-beats before a frame', () => {
      expect(types(parse(limits, `${'\n'.repeat(100)}${unsized(57)}`))).toEqual([...Array(100).fill('heartbeat'), 'frame']);
    });
  });

  describe('header count', () => {
    const headers = (count: number) => `SEND\n${Array.from({ length: count }, (_, index) => `h${index}:v\n`).join('')}\n\0`;

    it('accepts 100 headers by default, repeated ones included', () => {
      expect(types(parse({}, headers(100)))).toEqual(['frame']);
      expect(types(parse({}, `SEND\n${'h:v\n'.repeat(100)}\n\0`))).toEqual(['frame']);
    });

    it('rejects the 101st header', () => {
      expect(failure(parse({}, headers(101)))).toEqual(['TOO_MANY_HEADERS', 'too many headers (max 100)']);
    });

    it('rejects 10,000 headers', () => {
      const parser = new StompParser();

      expect(failure(parser.push(headers(10_000)))).toEqual(['TOO_MANY_HEADERS', 'too many headers (max 100)']);
    });

    it('follows a configured maximum', () => {
      expect(failure(parse({ maxHeaders: 2 }, headers(3)))).toEqual(['TOO_MANY_HEADERS', 'too many headers (max 2)']);
    });
  });

  describe('header line length (end of line excluded)', () => {
    const line = (bytes: number) => `x:${'a'.repeat(bytes - 2)}`;

    it('accepts a line of 16384 bytes by default, with LF or CRLF', () => {
      expect(types(parse({}, `SEND\n${line(16384)}\n\n\0`))).toEqual(['frame']);
      expect(types(parse({}, `SEND\r\n${line(16384)}\r\n\r\n\0`))).toEqual(['frame']);
    });

    it('rejects a line of 16385 bytes', () => {
      expect(failure(parse({}, `SEND\n${line(16385)}\n\n\0`))).toEqual(['HEADER_LINE_TOO_LONG', 'header line longer than 16384 bytes']);
    });

    it('rejects a long line as soon as it passes the limit, before its end arrives', () => {
      expect(failure(parse({}, `SEND\n${line(16385)}`))?.[0]).toBe('HEADER_LINE_TOO_LONG');
      expect(failure(parse({}, `SEND\n${line(16384)}\r`))).toBeUndefined();
    });

    it('follows a configured maximum', () => {
      expect(failure(parse({ maxHeaderLineBytes: 10 }, `SEND\n${line(11)}\n\n\0`))).toEqual([
        'HEADER_LINE_TOO_LONG',
        'header line longer than 10 bytes',
      ]);
    });
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses %p as a limit', (value) => {
    expect(() => new StompParser({ maxFrameBytes: value })).toThrow(RangeError);
  });
});

describe('StompParser limit on frames a chunk completes', () => {
  const frames = (count: number) => 'SEND\n\n\0'.repeat(count);

  it('accepts a chunk of exactly the limit, and as many again in the next chunk', () => {
    expect(types(parse({ maxFramesPerChunk: 3 }, frames(3), frames(3)))).toEqual(Array(6).fill('frame'));
  });

  it('yields the frames up to the limit, then the error', () => {
    const events = parse({ maxFramesPerChunk: 3 }, frames(4));
    expect(types(events)).toEqual(['frame', 'frame', 'frame', 'error']);
    expect(failure(events)).toEqual(['TOO_MANY_FRAMES', 'more than 3 frames in one message']);
  });

  it('counts a frame in the chunk that completes it, and not heart-beats', () => {
    expect(types(parse({ maxFramesPerChunk: 1 }, 'SEND\n\n', '\0\n\n\r\n', 'SEND\n\n\0'))).toEqual(['frame', 'heartbeat', 'heartbeat', 'heartbeat', 'frame']);
  });

  it('holds a message of 1 MiB of tiny frames to 1,000 of them by default', () => {
    const events = parse({}, frames(Math.floor(MiB / 7)));
    expect(events).toHaveLength(1001);
    expect(failure(events)?.[0]).toBe('TOO_MANY_FRAMES');
  });
});

describe('StompParser protocol errors', () => {
  it.each([
    ['FOO\n\n\0', 'unknown command FOO'],
    ['send\n\n\0', 'unknown command send'],
    ['MESSAGE\n\n\0', 'unknown command MESSAGE'],
    ['SEND \n\n\0', 'unknown command SEND\\x20'],
    [Buffer.from([0, 0xff, 0x0a]), 'unknown command \\x00\\xff'],
    ['GET /stomp HTTP/1.1', 'unknown command GET\\x20/stomp\\x20...'],
  ])('rejects the command line %p', (chunk, message) => {
    expect(failure(parse({}, chunk))).toEqual(['UNKNOWN_COMMAND', message]);
  });

  it.each([
    ['a header line without a colon', 'SEND\ndestination\n\n\0', 'header line without a colon'],
    ['a header without a name', 'SEND\n:value\n\n\0', 'header with an empty name'],
    ['a non-numeric content-length', 'SEND\ncontent-length:abc\n\n\0', 'content-length is not a number'],
    ['a negative content-length', 'SEND\ncontent-length:-1\n\n\0', 'content-length is not a number'],
    ['a fractional content-length', 'SEND\ncontent-length:1.5\n\n\0', 'content-length is not a number'],
    ['a padded content-length', 'SEND\ncontent-length: 1\n\nx\0', 'content-length is not a number'],
    ['an empty content-length', 'SEND\ncontent-length:\n\n\0', 'content-length is not a number'],
    ['content-length bytes not followed by NUL', 'SEND\ncontent-length:2\n\nabc\0', 'body not terminated by NUL after content-length bytes'],
    ['a body on a frame other than SEND', 'SUBSCRIBE\nid:1\n\n{}\0', 'SUBSCRIBE frame must not have a body'],
    ['a NUL in the headers', 'DISCONNECT\nreceipt:1\n\0', 'NUL byte in the headers (missing blank line before the body?)'],
  ])('rejects %s', (_, chunk, message) => {
    expect(failure(parse({}, chunk))).toEqual(['MALFORMED_FRAME', message]);
  });

  it('rejects invalid UTF-8 in a header', () => {
    expect(failure(parse({}, Buffer.from('SEND\ndestination:/\xff\n\n\0', 'latin1')))).toEqual([
      'MALFORMED_FRAME',
      'header is not valid UTF-8',
    ]);
  });

  it('reports a NUL in the headers without waiting for an end of line', () => {
    expect(failure(parse({}, 'CONNECT\naccept-version:1.2\n\0'))?.[0]).toBe('MALFORMED_FRAME');
  });

  it('yields the frames before the error, then ignores all input', () => {
    const parser = new StompParser();

    expect(types(parser.push('SEND\n\n\0\nFOO\n\nSEND\n\n\0'))).toEqual(['frame', 'heartbeat', 'error']);
    expect(parser.failed).toBe(true);
    expect(parser.push('SEND\n\n\0')).toEqual([]);
    expect(parser.bufferedBytes).toBe(0);
  });

  it('accepts an empty content-length body on a frame other than SEND', () => {
    expect(types(parse({}, 'DISCONNECT\ncontent-length:0\n\n\0'))).toEqual(['frame']);
  });
});

import { CLIENT_COMMANDS, bodyText, type ClientCommand } from './frame.js';
import { StompParser, type StompParserEvent } from './parser.js';

/** Every event of `chunks` pushed one after the other into a new parser. */
function parse(...chunks: Array<Uint8Array | string>): StompParserEvent[] {
  const parser = new StompParser();
  return chunks.flatMap((chunk) => parser.push(chunk));
}

/** The event of a frame with these headers, in this order, and body. */
function frame(command: ClientCommand, headers: Record<string, string> = {}, body: string | Buffer = ''): StompParserEvent {
  return {
    type: 'frame',
    frame: { command, headers: new Map(Object.entries(headers)), body: Buffer.from(body) },
  };
}

const heartbeat: StompParserEvent = { type: 'heartbeat' };

function error(message: string): StompParserEvent {
  return { type: 'error', error: expect.objectContaining({ message }) };
}

/** The header names of a parsed frame event, in order (Map equality ignores order). */
function headerNames(event: StompParserEvent | undefined): string[] {
  return event?.type === 'frame' ? [...event.frame.headers.keys()] : [];
}

const bytes = (...parts: Array<string | number[]>): Buffer =>
  Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : Buffer.from(part))));

describe('StompParser', () => {
  describe('frames', () => {
    it('reads the command, the headers in order and the body', () => {
      const events = parse('SEND\ndestination:/app/chat/open\nreceipt:r-1\n\n{"subject":"Flat tyre"}\0');

      expect(events).toEqual([frame('SEND', { destination: '/app/chat/open', 'receipt': 'r-1' }, '{"subject":"Flat tyre"}')]);
      expect(headerNames(events[0])).toEqual(['destination', 'receipt']);
    });

    it.each(CLIENT_COMMANDS)('accepts the client command %s', (command) => {
      expect(parse(`${command}\n\n\0`)).toEqual([frame(command)]);
    });

    it('accepts strings, Buffers and plain Uint8Arrays alike', () => {
      const text = 'SEND\ndestination:/a\n\nhello\0';
      const expected = [frame('SEND', { destination: '/a' }, 'hello')];

      expect(parse(text)).toEqual(expected);
      expect(parse(Buffer.from(text))).toEqual(expected);
      expect(parse(new Uint8Array(Buffer.from(`xx${text}`)).subarray(2))).toEqual(expected);
    });

    it('reads several frames from one chunk', () => {
      expect(parse('SUBSCRIBE\nid:0\ndestination:/topic/inbox\n\n\0SEND\ndestination:/a\n\n{}\0DISCONNECT\nreceipt:bye\n\n\0')).toEqual([
        frame('SUBSCRIBE', { id: '0', destination: '/topic/inbox' }),
        frame('SEND', { destination: '/a' }, '{}'),
        frame('DISCONNECT', { receipt: 'bye' }),
      ]);
    });

    it('accepts CRLF line endings', () => {
      expect(parse('SEND\r\ndestination:/a\r\nreceipt:1\r\n\r\nbody\r\n\0')).toEqual([
        frame('SEND', { destination: '/a', receipt: '1' }, 'body\r\n'),
      ]);
    });

    it('splits a header at its first colon and keeps the rest, spaces included, as the value', () => {
      expect(parse('SEND\ndestination:/a:b::c\n x : y \nempty:\n\n\0')).toEqual([
        frame('SEND', { destination: '/a:b::c', ' x ': ' y ', empty: '' }),
      ]);
    });

    it('keeps the first value of a repeated header', () => {
      expect(parse('SEND\nfoo:1\nbar:2\nfoo:3\n\n\0')).toEqual([frame('SEND', { foo: '1', bar: '2' })]);
    });

    it('reads a header value as UTF-8', () => {
      expect(parse(Buffer.from('SEND\nsubject:Pneu crevé 🚗\n\n\0'))).toEqual([frame('SEND', { subject: 'Pneu crevé 🚗' })]);
    });

    it('returns a copy of the body, not a view of the chunk', () => {
      const chunk = Buffer.from('SEND\n\nhello\0');
      const [event] = new StompParser().push(chunk);
      chunk.fill(0);

      expect(event).toEqual(frame('SEND', {}, 'hello'));
    });
  });

  describe('bodies', () => {
    it('ends a body without content-length at the first NUL', () => {
      expect(parse('SEND\n\nab\0SEND\n\n\0')).toEqual([frame('SEND', {}, 'ab'), frame('SEND')]);
    });

    it('reads exactly content-length bytes, NUL bytes included, then requires the NUL', () => {
      const body = bytes([0, 1, 0, 255, 0]);
      expect(parse(bytes('SEND\ncontent-length:5\n\n'), body, bytes([0]))).toEqual([
        frame('SEND', { 'content-length': '5' }, body),
      ]);
    });

    it('counts content-length in bytes, not characters', () => {
      expect(parse('SEND\ncontent-length:6\n\né🚗\0')).toEqual([frame('SEND', { 'content-length': '6' }, 'é🚗')]);
    });

    it('reads a content-length of 0 as an empty body', () => {
      expect(parse('SEND\ncontent-length:0\n\n\0')).toEqual([frame('SEND', { 'content-length': '0' })]);
    });

    it('uses the first content-length when it is repeated', () => {
      expect(parse('SEND\ncontent-length:3\ncontent-length:5\n\nabc\0')).toEqual([
        frame('SEND', { 'content-length': '3' }, 'abc'),
      ]);
    });

    it('waits for the terminating NUL before yielding the frame', () => {
      const parser = new StompParser();

      expect(parser.push('SEND\ncontent-length:2\n\nab')).toEqual([]);
      expect(parser.push('\0')).toEqual([frame('SEND', { 'content-length': '2' }, 'ab')]);
    });

    it('reads the body as text with bodyText, or undefined when it is not UTF-8', () => {
      const [good, bad] = parse(bytes('SEND\n\n', 'Pneu crevé', [0], 'SEND\n\n', [0xc3, 0x28], [0]));

      expect(good?.type === 'frame' && bodyText(good.frame)).toBe('Pneu crevé');
      expect(bad?.type === 'frame' && bodyText(bad.frame)).toBeUndefined();
    });
  });

  describe('heart-beats', () => {
    it('reports every end of line outside a frame, LF or CRLF, as a heart-beat', () => {
      expect(parse('\n\r\nSEND\n\n\0\n\r\n\nSEND\n\n\0\r\n')).toEqual([
        heartbeat,
        heartbeat,
        frame('SEND'),
        heartbeat,
        heartbeat,
        heartbeat,
        frame('SEND'),
        heartbeat,
      ]);
    });

    it('reports a CRLF cut between two chunks once, when its LF arrives', () => {
      const parser = new StompParser();

      expect(parser.push('\r')).toEqual([]);
      expect(parser.push('\n')).toEqual([heartbeat]);
    });
  });

  describe('header escaping', () => {
    it('decodes \\r, \\n, \\c and \\\\ in header names and values', () => {
      expect(parse('SEND\na\\cb\\\\:x\\ny\\rz\\\\w\\c\n\n\0')).toEqual([frame('SEND', { 'a:b\\': 'x\ny\rz\\w:' })]);
    });

    it('compares repeated headers after decoding', () => {
      expect(parse('SEND\na\\cb:1\na:b:2\n\n\0')).toEqual([frame('SEND', { 'a:b': '1', a: 'b:2' })]);
    });

    it.each(['CONNECT', 'STOMP'] as const)('leaves %s headers as they are, as STOMP 1.2 asks', (command) => {
      expect(parse(`${command}\nlogin:a\\tb\npasscode:x\\cy\\\n\n\0`)).toEqual([
        frame(command, { login: 'a\\tb', passcode: 'x\\cy\\' }),
      ]);
    });

    it('rejects an undefined escape such as \\t', () => {
      expect(parse('SEND\ndestination:/a\\tb\n\n\0')).toEqual([error('undefined escape sequence \\t in a header')]);
    });

    it('names an unprintable escaped character by its code point', () => {
      expect(parse('SEND\ndestination:/a\\\tb\n\n\0')).toEqual([error('undefined escape sequence \\<U+0009> in a header')]);
    });

    it.each([
      ['inside a value', 'SEND\ndestination:/a\rb\n\n\0'],
      ['before the CRLF end of line', 'SEND\ndestination:/ab\r\r\n\n\0'],
      ['in a name', 'SEND\ndesti\rnation:/ab\n\n\0'],
    ])('rejects a CR in a header line, which no version allows: %s', (_, text) => {
      expect(parse(text)).toEqual([error('CR in a header line (only CRLF ends one)')]);
    });

    it('rejects a header that ends with a lone backslash', () => {
      expect(parse('SEND\ndestination:/a\\\n\n\0')).toEqual([error('header ends with an unfinished escape sequence')]);
    });
  });

  describe('header escaping by the version CONNECT agrees on', () => {
    const connect = (acceptVersion?: string) =>
      `CONNECT\n${acceptVersion === undefined ? '' : `accept-version:${acceptVersion}\n`}host:parley\n\n\0`;

    it('decodes the frames after CONNECT as STOMP 1.2 when it agrees on 1.2, in the same chunk too', () => {
      const [, send] = parse(connect('1.0,1.1,1.2') + 'SEND\nreceipt:a\\rb\\cc\n\n\0');

      expect(send).toEqual(frame('SEND', { receipt: 'a\rb:c' }));
    });

    it('decodes STOMP 1.1, which has no \\r escape', () => {
      expect(parse(connect('1.1,1.0'), 'SEND\nreceipt:a\\nb\\cc\\\\d\n\n\0').slice(1)).toEqual([
        frame('SEND', { receipt: 'a\nb:c\\d' }),
      ]);
      expect(parse(connect('1.1'), 'SEND\nreceipt:a\\rb\n\n\0').slice(1)).toEqual([error('undefined escape sequence \\r in a header')]);
    });

    it('reads STOMP 1.0 headers as they are: no accept-version means 1.0', () => {
      expect(parse(connect(), 'SEND\nreceipt:C:\\temp\\t\n\n\0').slice(1)).toEqual([frame('SEND', { receipt: 'C:\\temp\\t' })]);
    });

    it('keeps the version of the first CONNECT', () => {
      expect(parse(connect('1.0'), connect('1.2'), 'SEND\nreceipt:a\\cb\n\n\0').slice(2)).toEqual([frame('SEND', { receipt: 'a\\cb' })]);
    });

    it('decodes as STOMP 1.2 when CONNECT agrees on no version (the connection refuses it)', () => {
      expect(parse(connect('2.0'), 'SEND\nreceipt:a\\cb\n\n\0').slice(1)).toEqual([frame('SEND', { receipt: 'a:b' })]);
    });
  });

  describe('chunking', () => {
    // Every state and transition: heart-beats (LF and CRLF), an unescaped CONNECT, CRLF lines,
    // escapes, a content-length body with NUL bytes, multi-byte UTF-8 and a NUL-terminated body.
    const stream = bytes(
      '\n',
      'CONNECT\r\naccept-version:1.2\r\nhost:parley\r\nAuthorization:Bearer a.b.c\r\nheart-beat:10000,10000\r\n\r\n',
      [0],
      '\r\n\n',
      'SUBSCRIBE\nid:sub-0\ndestination:/topic/chat/42\nsince-revision:-1\nreceipt:r\\c1\n\n',
      [0],
      'SEND\ndestination:/app/chat/42/messages\ncontent-length:9\nsubject:Pneu crevé\n\n{"a":',
      [0, 0],
      '}\n',
      [0],
      'SEND\ndestination:/app/chat/42/messages\n\n{"body":"ça roule 🚗"}',
      [0],
      '\r\n',
      'DISCONNECT\nreceipt:bye\n\n',
      [0],
    );
    const expected: StompParserEvent[] = [
      heartbeat,
      frame('CONNECT', {
        'accept-version': '1.2',
        host: 'parley',
        Authorization: 'Bearer a.b.c',
        'heart-beat': '10000,10000',
      }),
      heartbeat,
      heartbeat,
      frame('SUBSCRIBE', { id: 'sub-0', destination: '/topic/chat/42', 'since-revision': '-1', receipt: 'r:1' }),
      frame(
        'SEND',
        { destination: '/app/chat/42/messages', 'content-length': '9', subject: 'Pneu crevé' },
        bytes('{"a":', [0, 0], '}\n'),
      ),
      frame('SEND', { destination: '/app/chat/42/messages' }, '{"body":"ça roule 🚗"}'),
      heartbeat,
      frame('DISCONNECT', { receipt: 'bye' }),
    ];

    it('reads the sample stream in one chunk', () => {
      expect(parse(stream)).toEqual(expected);
    });

    it('yields the same events however the stream is cut in two, at every byte offset', () => {
      for (let offset = 0; offset <= stream.length; offset += 1) {
        expect({ offset, events: parse(stream.subarray(0, offset), stream.subarray(offset)) }).toEqual({ offset, events: expected });
      }
    });

    it('yields the same events when fed one byte at a time', () => {
      const chunks = Array.from({ length: stream.length }, (_, index) => stream.subarray(index, index + 1));
      expect(parse(...chunks)).toEqual(expected);
    });

    it('yields the same events from text chunks cut at every character', () => {
      // A WebSocket text message is whole UTF-8, so never cuts a character (a surrogate pair).
      const characters = Array.from(stream.toString('utf8'));
      for (let offset = 0; offset <= characters.length; offset += 1) {
        expect(parse(characters.slice(0, offset).join(''), characters.slice(offset).join(''))).toEqual(expected);
      }
    });

    it('holds nothing once a frame is complete', () => {
      const parser = new StompParser();
      parser.push(stream.subarray(0, 60));

      expect(parser.bufferedBytes).toBeGreaterThan(0);
      parser.push(stream.subarray(60));
      expect(parser.bufferedBytes).toBe(0);
    });
  });
});

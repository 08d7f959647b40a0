import { StompParser, type StompParserEvent } from './parser.js';
import { HEARTBEAT, serializeFrame } from './serializer.js';

/** Reads a serialized server frame back with the client-frame parser, renamed to SEND. */
function parseAsSend(serialized: string): StompParserEvent[] {
  return new StompParser().push(serialized.replace(/^[A-Z]+\n/, 'SEND\n'));
}

describe('serializeFrame', () => {
  it('writes a RECEIPT: command, headers, blank line, NUL', () => {
    expect(serializeFrame({ command: 'RECEIPT', headers: { 'receipt-id': 'r-1' } }, '1.2')).toBe('RECEIPT\nreceipt-id:r-1\n\n\0');
  });

  it('writes a MESSAGE with its headers in order and the byte length of its body', () => {
    const body = '{"body":"Pneu crevé 🚗"}';

    expect(
      serializeFrame({
        command: 'MESSAGE',
        headers: { subscription: 'sub-0', 'message-id': '7', destination: '/topic/chat/42', 'content-type': 'application/json' },
        body,
      }, '1.2'),
    ).toBe(
      'MESSAGE\nsubscription:sub-0\nmessage-id:7\ndestination:/topic/chat/42\ncontent-type:application/json\n' +
        `content-length:27\n\n${body}\0`, // 21 ASCII characters, é in 2 bytes, 🚗 in 4
    );
  });

  it('writes content-length 0 for an empty body, and none without a body', () => {
    expect(serializeFrame({ command: 'MESSAGE', headers: {}, body: '' }, '1.2')).toBe('MESSAGE\ncontent-length:0\n\n\0');
    expect(serializeFrame({ command: 'MESSAGE', headers: {} }, '1.2')).toBe('MESSAGE\n\n\0');
  });

  it('writes an ERROR with its message header and body', () => {
    expect(
      serializeFrame({ command: 'ERROR', headers: { message: 'unknown command FOO' }, body: 'Frames must start with a client command.' }, '1.2'),
    ).toBe('ERROR\nmessage:unknown command FOO\ncontent-length:40\n\nFrames must start with a client command.\0');
  });

  it('escapes CR, LF, colon and backslash in header names and values', () => {
    expect(serializeFrame({ command: 'ERROR', headers: { 'a:b\\': 'line 1\r\nline:2\\' } }, '1.2')).toBe(
      'ERROR\na\\cb\\\\:line 1\\r\\nline\\c2\\\\\n\n\0',
    );
  });

  it('escapes LF, colon and backslash in STOMP 1.1, which has no escape for CR', () => {
    expect(serializeFrame({ command: 'RECEIPT', headers: { 'receipt-id': 'C:\\temp\nnext' } }, '1.1')).toBe(
      'RECEIPT\nreceipt-id:C\\c\\\\temp\\nnext\n\n\0',
    );
    expect(() => serializeFrame({ command: 'RECEIPT', headers: { 'receipt-id': 'a\rb' } }, '1.1')).toThrow(RangeError);
  });

  it('writes headers as they are in STOMP 1.0, which has no escapes, and refuses CR and LF', () => {
    expect(serializeFrame({ command: 'RECEIPT', headers: { 'receipt-id': 'C:\\temp' } }, '1.0')).toBe('RECEIPT\nreceipt-id:C:\\temp\n\n\0');
    expect(() => serializeFrame({ command: 'RECEIPT', headers: { 'receipt-id': 'a\nb' } }, '1.0')).toThrow(RangeError);
  });

  it('writes CONNECTED headers unescaped, as STOMP 1.2 asks', () => {
    expect(
      serializeFrame({ command: 'CONNECTED', headers: { version: '1.2', 'heart-beat': '10000,10000', server: 'parley\\1:0' } }, '1.2'),
    ).toBe('CONNECTED\nversion:1.2\nheart-beat:10000,10000\nserver:parley\\1:0\n\n\0');
  });

  it.each([
    ['a LF in a value', { 'user-name': 'Ada\nmessage:forged' }],
    ['a CR in a value', { 'user-name': 'Ada\r' }],
    ['a colon in a name', { 'user:name': 'Ada' }],
  ])('refuses a CONNECTED header it cannot write unescaped: %s', (_, headers) => {
    expect(() => serializeFrame({ command: 'CONNECTED', headers }, '1.2')).toThrow(RangeError);
  });

  it('refuses a header without a name', () => {
    expect(() => serializeFrame({ command: 'RECEIPT', headers: { '': 'x' } }, '1.2')).toThrow(RangeError);
  });

  it('lets the type system refuse a content-length header and a body on RECEIPT or CONNECTED', () => {
    // @ts-expect-error content-length is computed from the body
    serializeFrame({ command: 'MESSAGE', headers: { 'content-length': '5' }, body: 'hello' }, '1.2');
    // @ts-expect-error only MESSAGE and ERROR carry a body
    serializeFrame({ command: 'RECEIPT', headers: {}, body: 'hello' }, '1.2');
  });

  describe('read back by the parser', () => {
    it('round-trips headers that need escaping and a body with NUL bytes and multi-byte characters', () => {
      const headers = { destination: '/topic/chat/42', 'a:b\\c': 'x\ny\r\\z:', 'event-type': 'ChatMessageSent' };
      const body = '{"body":"ça\u0000roule 🚗"}';
      const [event] = parseAsSend(serializeFrame({ command: 'MESSAGE', headers, body }, '1.2'));

      expect(event).toEqual({
        type: 'frame',
        frame: {
          command: 'SEND',
          headers: new Map([...Object.entries(headers), ['content-length', String(Buffer.byteLength(body))]]),
          body: Buffer.from(body),
        },
      });
    });

    it('round-trips every printable ASCII character and the escaped ones in a header value', () => {
      const value = Array.from({ length: 95 }, (_, index) => String.fromCharCode(32 + index)).join('') + '\r\n';
      const [event] = parseAsSend(serializeFrame({ command: 'MESSAGE', headers: { value } }, '1.2'));

      expect(event?.type === 'frame' && event.frame.headers.get('value')).toBe(value);
    });

    it('reads a heart-beat as a heart-beat', () => {
      expect(HEARTBEAT).toBe('\n');
      expect(new StompParser().push(HEARTBEAT)).toEqual([{ type: 'heartbeat' }]);
    });
  });
});

import { StompParser, type StompParserEvent } from './parser.js';

/** mulberry32: a tiny seeded PRNG, so that a failure replays exactly. Returns [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = mulberry32(0x57011);
const below = (n: number) => Math.floor(random() * n);
const pick = <T>(items: readonly T[]): T => items[below(items.length)] as T;

const sample = Buffer.from(
  '\nCONNECT\naccept-version:1.2\nhost:parley\n\n\0' +
    'SUBSCRIBE\r\nid:0\r\ndestination:/topic/chat/42\r\n\r\n\0\n' +
    'SEND\ndestination:/app/chat/42/messages\ncontent-length:4\na\\cb:\\\\\n\n{\0"}\0' +
    'SEND\ndestination:/a\n\nça 🚗\0DISCONNECT\nreceipt:1\n\n\0',
);
const pieces = ['a', 'id', '-', ':', '\\c', '\\n', '\\\\', '\\t', '\\', '\r', 'é', '\xff', '\0'];

/** Uniformly random bytes. */
function randomBytes(): Buffer {
  return Buffer.from(Array.from({ length: below(300) }, () => below(256)));
}

/** The sample with a few bytes replaced, inserted or deleted: mostly valid, then broken. */
function mutatedSample(): Buffer {
  const bytes = [...sample];
  for (let edits = 1 + below(4); edits > 0; edits -= 1) {
    const at = below(bytes.length);
    const edit = below(3);
    if (edit === 0) bytes[at] = below(256);
    else if (edit === 1) bytes.splice(at, 0, pick([0, 10, 13, 58, 92, below(256)]));
    else bytes.splice(at, 1);
  }
  return Buffer.from(bytes);
}

/** Frames put together from random parts, often valid, which reach deeper states than noise. */
function randomFrames(): Buffer {
  const parts: string[] = [];
  for (let frames = 1 + below(4); frames > 0; frames -= 1) {
    const eol = pick(['\n', '\n', '\r\n']);
    parts.push(pick(['', '', eol]), pick(['SEND', 'SEND', 'SUBSCRIBE', 'CONNECT', 'DISCONNECT', 'FOO']), eol);
    for (let headers = below(5); headers > 0; headers -= 1) parts.push(`${text(3)}:${text(3)}`, eol);
    const body = pick(['', '{}', text(6)]);
    const length = Buffer.byteLength(body, 'latin1');
    parts.push(pick(['', '', `content-length:${length}${eol}`, `content-length:${pick([length + 1, 'x'])}${eol}`]));
    parts.push(eol, body, '\0');
  }
  return Buffer.from(parts.join(''), 'latin1');
}

/** Up to `most` random pieces of header or body text, escapes and troublemakers included. */
function text(most: number): string {
  return Array.from({ length: below(most + 1) }, () => (random() < 0.7 ? 'a' : pick(pieces))).join('');
}

/** `bytes` cut at random offsets. */
function randomChunks(bytes: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let start = 0; start < bytes.length; ) {
    const end = start + 1 + below(40);
    chunks.push(bytes.subarray(start, end));
    start = end;
  }
  return chunks;
}

/** A line per event, to compare runs cheaply. */
function describeEvent(event: StompParserEvent): string {
  if (event.type !== 'frame') return event.type;
  const { command, headers, body } = event.frame;
  return `${command} ${JSON.stringify([...headers])} ${body.toString('hex')}`;
}

interface Run {
  /** The frames and heart-beats yielded, described. */
  readonly events: string[];
  readonly failed: boolean;
  /** Broken invariants: what must hold whatever the input. */
  readonly problems: string[];
}

/** Feeds the chunks, checking the invariants after each push (without `expect`, which is slow). */
function feed(chunks: Buffer[], maxFrameBytes: number): Run {
  const parser = new StompParser({ maxFrameBytes, maxHeaders: 8, maxHeaderLineBytes: 48 });
  const events: StompParserEvent[] = [];
  const problems: string[] = [];
  for (const chunk of chunks) {
    const failedBefore = parser.failed;
    const yielded = parser.push(chunk);
    if (failedBefore && yielded.length > 0) problems.push('yielded events after an error');
    events.push(...yielded);
    if (parser.bufferedBytes > maxFrameBytes) problems.push(`held ${parser.bufferedBytes} bytes`);
  }
  const errors = events.filter((event) => event.type === 'error').length;
  if (errors > 1 || (errors === 1 && events.at(-1)?.type !== 'error')) problems.push('an error was not the last event');
  if (errors === 1 && (!parser.failed || parser.bufferedBytes !== 0)) problems.push('still active after an error');
  return { events: events.filter((event) => event.type !== 'error').map(describeEvent), failed: errors === 1, problems };
}

describe('StompParser on arbitrary input', () => {
  it.each([
    ['random bytes', randomBytes],
    ['mutated frames', mutatedSample],
    ['frames from random parts', randomFrames],
  ])('never throws on %s, and yields the same frames however they are chunked', (_, generate) => {
    const problems: string[] = [];
    let runsWithFrames = 0;
    for (let run = 0; run < 1500; run += 1) {
      const input = generate();
      const maxFrameBytes = pick([40, 100, 1000]);
      const whole = feed([input], maxFrameBytes);
      const chunked = feed(randomChunks(input), maxFrameBytes);
      // Which error a frame breaking several limits gets may depend on the cuts; nothing else may.
      const same = whole.failed === chunked.failed && whole.events.join('\n') === chunked.events.join('\n');
      if (!same) problems.push(`run ${run}: chunking changed the events of ${input.toString('hex')}`);
      problems.push(...whole.problems, ...chunked.problems);
      if (whole.events.some((event) => event !== 'heartbeat')) runsWithFrames += 1;
    }

    expect(problems).toEqual([]);
    if (generate !== randomBytes) expect(runsWithFrames).toBeGreaterThan(100);
  });

  it('reports an error rather than throwing on every byte value in every position of a frame', () => {
    for (let at = 0; at < 40; at += 1) {
      for (let value = 0; value < 256; value += 1) {
        const bytes = Buffer.from(sample.subarray(0, 40));
        bytes[at] = value;
        new StompParser().push(bytes); // throwing fails the test
      }
    }
  });
});

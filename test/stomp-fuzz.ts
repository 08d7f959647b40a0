/**
 * Seeded fuzzing of the STOMP frame parser: inputs of three kinds (noise, mutations of a valid
 * sample, frames put together from random parts), each fed whole and cut at random offsets, and
 * the invariants that must hold whatever the input. Used by the quick spec beside the parser and
 * by the long run of `npm run test:reliability`.
 */
import { StompParser, type StompParserEvent } from '../src/gateway/stomp/parser.js';
import { type SeededRandom, seededRandom } from './seeded-random.js';

export type FuzzInputKind = 'random bytes' | 'mutated frames' | 'frames from random parts';
export const FUZZ_INPUT_KINDS: readonly FuzzInputKind[] = ['random bytes', 'mutated frames', 'frames from random parts'];

const sample = Buffer.from(
  '\nCONNECT\naccept-version:1.2\nhost:parley\n\n\0' +
    'SUBSCRIBE\r\nid:0\r\ndestination:/topic/chat/42\r\n\r\n\0\n' +
    'SEND\ndestination:/app/chat/42/messages\ncontent-length:4\na\\cb:\\\\\n\n{\0"}\0' +
    'SEND\ndestination:/a\n\nça 🚗\0DISCONNECT\nreceipt:1\n\n\0',
);
const pieces = ['a', 'id', '-', ':', '\\c', '\\n', '\\\\', '\\t', '\\', '\r', 'é', '\xff', '\0'];

/** The generators of inputs, drawing from one seeded source. */
export function fuzzInputs(random: SeededRandom): Record<FuzzInputKind, () => Buffer> & { chunks(bytes: Buffer): Buffer[]; maxFrameBytes(): number } {
  const { below, pick } = random;

  /** Up to `most` random pieces of header or body text, escapes and troublemakers included. */
  const text = (most: number) => Array.from({ length: below(most + 1) }, () => (random.next() < 0.7 ? 'a' : pick(pieces))).join('');

  return {
    'random bytes': () => Buffer.from(Array.from({ length: below(300) }, () => below(256))),
    /** The sample with a few bytes replaced, inserted or deleted: mostly valid, then broken. */
    'mutated frames': () => {
      const bytes = [...sample];
      for (let edits = 1 + below(4); edits > 0; edits -= 1) {
        const at = below(bytes.length);
        const edit = below(3);
        if (edit === 0) bytes[at] = below(256);
        else if (edit === 1) bytes.splice(at, 0, pick([0, 10, 13, 58, 92, below(256)]));
        else bytes.splice(at, 1);
      }
      return Buffer.from(bytes);
    },
    /** Frames put together from random parts, often valid, which reach deeper states than noise. */
    'frames from random parts': () => {
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
    },
    /** `bytes` cut at random offsets. */
    chunks: (bytes) => {
      const chunks: Buffer[] = [];
      for (let start = 0; start < bytes.length; ) {
        const end = start + 1 + below(40);
        chunks.push(bytes.subarray(start, end));
        start = end;
      }
      return chunks;
    },
    maxFrameBytes: () => pick([40, 100, 1000]),
  };
}

/** A line per event, to compare runs cheaply. */
function describeEvent(event: StompParserEvent): string {
  if (event.type !== 'frame') return event.type;
  const { command, headers, body } = event.frame;
  return `${command} ${JSON.stringify([...headers])} ${body.toString('hex')}`;
}

export interface FeedResult {
  /** The frames and heart-beats yielded, described. */
  readonly events: string[];
  readonly failed: boolean;
  /** Broken invariants: what must hold whatever the input. */
  readonly problems: string[];
  /** The most bytes the parser held at once. */
  readonly mostBuffered: number;
}

/**
 * Feeds the chunks, checking the invariants after each push (without `expect`, which is slow).
 * A throw out of the parser is reported as a problem.
 */
export function feed(chunks: readonly Buffer[], maxFrameBytes: number): FeedResult {
  const parser = new StompParser({ maxFrameBytes, maxHeaders: 8, maxHeaderLineBytes: 48 });
  const events: StompParserEvent[] = [];
  const problems: string[] = [];
  let mostBuffered = 0;
  for (const chunk of chunks) {
    const failedBefore = parser.failed;
    let yielded: StompParserEvent[];
    try {
      yielded = parser.push(chunk);
    } catch (error) {
      problems.push(`push threw ${(error as Error).stack ?? String(error)}`);
      break;
    }
    if (failedBefore && yielded.length > 0) problems.push('yielded events after an error');
    events.push(...yielded);
    mostBuffered = Math.max(mostBuffered, parser.bufferedBytes);
    if (parser.bufferedBytes > maxFrameBytes) problems.push(`held ${parser.bufferedBytes} bytes`);
  }
  const errors = events.filter((event) => event.type === 'error').length;
  if (errors > 1 || (errors === 1 && events.at(-1)?.type !== 'error')) problems.push('an error was not the last event');
  if (errors === 1 && (!parser.failed || parser.bufferedBytes !== 0)) problems.push('still active after an error');
  return { events: events.filter((event) => event.type !== 'error').map(describeEvent), failed: errors === 1, problems, mostBuffered };
}

/** What a fuzzing run did and found. */
export interface FuzzReport {
  readonly inputs: number;
  readonly bytes: number;
  /** Inputs of which at least one frame (not only heart-beats) came out. */
  readonly inputsWithFrames: number;
  /** Inputs the parser refused with a protocol error. */
  readonly inputsRefused: number;
  /** The longest one input took, fed whole and chunked, in ms. */
  readonly slowestMs: number;
  /** The most bytes a parser held at once, against the limit of that input. */
  readonly mostBuffered: number;
  /** Broken invariants, each naming its run and input. */
  readonly problems: string[];
}

/**
 * Runs `runs` inputs of `kind` from `seed`: each fed whole and in random chunks, which must yield
 * the same frames (of a frame breaking several limits, which error is reported may depend on
 * the cuts; nothing else may). Stops collecting problems after 20.
 */
export function fuzzParser(kind: FuzzInputKind, seed: number, runs: number): FuzzReport {
  const inputs = fuzzInputs(seededRandom(seed));
  const problems: string[] = [];
  let bytes = 0;
  let inputsWithFrames = 0;
  let inputsRefused = 0;
  let slowestMs = 0;
  let mostBuffered = 0;
  for (let run = 0; run < runs && problems.length < 20; run += 1) {
    const input = inputs[kind]();
    const maxFrameBytes = inputs.maxFrameBytes();
    const started = performance.now();
    const whole = feed([input], maxFrameBytes);
    const chunked = feed(inputs.chunks(input), maxFrameBytes);
    slowestMs = Math.max(slowestMs, performance.now() - started);
    const same = whole.failed === chunked.failed && whole.events.join('\n') === chunked.events.join('\n');
    if (!same) problems.push(`run ${run}: chunking changed the events of ${input.toString('hex')}`);
    for (const problem of [...whole.problems, ...chunked.problems]) problems.push(`run ${run} (${input.toString('hex')}): ${problem}`);
    bytes += input.length;
    mostBuffered = Math.max(mostBuffered, whole.mostBuffered, chunked.mostBuffered);
    if (whole.events.some((event) => event !== 'heartbeat')) inputsWithFrames += 1;
    if (whole.failed) inputsRefused += 1;
  }
  return { inputs: runs, bytes, inputsWithFrames, inputsRefused, slowestMs, mostBuffered, problems };
}

/** The sample's first bytes with every byte value in every position: none may make the parser throw. */
export function everyByteEverywhere(positions = 40): string[] {
  const problems: string[] = [];
  for (let at = 0; at < positions; at += 1) {
    for (let value = 0; value < 256; value += 1) {
      const bytes = Buffer.from(sample.subarray(0, positions));
      bytes[at] = value;
      try {
        new StompParser().push(bytes);
      } catch (error) {
        problems.push(`byte ${value} at ${at}: ${(error as Error).message}`);
      }
    }
  }
  return problems;
}

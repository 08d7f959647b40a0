/**
 * A session's message ids in order, each with its message's tag (`tagOf`), as an immutable value
 * that `evolve` extends by one id in constant time and that answers "which position has this
 * id?" in constant time as well.
 *
 * A copied array (the state's list until then) made both linear in the session's length: folding
 * a stream of 20,000 messages took 3.6 s of the event loop, and deciding a SEND to it 2.8 ms
 * (`bench/NOTES.md`).
 *
 * Every value sees a prefix of one shared table, its first `length` ids: the value at the end of
 * the prefix appends in place, which no value before it can see. Only a value that is no longer
 * the last one (a state extended twice, which the write side does not do) copies its prefix first.
 */
export class MessageIds {
  /** No ids, in a table of its own: a shared empty value would collect the first session's ids. */
  static empty(): MessageIds {
    return new MessageIds(new IdTable(), 0);
  }

  private constructor(
    /** The ids in the order they came; shared by a value and its successors. */
    private readonly table: IdTable,
    /** How many ids of `table` this value holds. */
    readonly length: number,
  ) {}

  /**
   * The ids with `id` after them, tagged `tag`. A repeated id keeps its first position and tag,
   * and adds nothing.
   */
  append(id: string, tag: number): MessageIds {
    if (this.table.size === this.length) return this.table.add(id, tag) ? new MessageIds(this.table, this.length + 1) : this;
    if (this.has(id)) return this;
    const table = this.table.prefix(this.length);
    table.add(id, tag);
    return new MessageIds(table, this.length + 1);
  }

  /** The position of `id`, from 0; -1 when it is not among these ids. */
  indexOf(id: string): number {
    const position = this.table.positionOf(id);
    return position < this.length ? position : -1;
  }

  has(id: string): boolean {
    return this.indexOf(id) !== -1;
  }

  /** The tag of the id at `position`, from 0, which must be below `length`. */
  tagAt(position: number): number {
    if (position < 0 || position >= this.length) throw new RangeError(`no message id at position ${position}`);
    return this.table.tagAt(position);
  }
}

/**
 * A seeded 32-bit hash of `texts` in order, each one's length included (`['ab', 'c']` and
 * `['a', 'bc']` differ): the tag a session keeps of a message beside its id, to tell a retry of
 * that message from another one sent with the same id. Two different messages share a tag once
 * in 2³² pairs; with the seed drawn in each process, a client cannot work out such pairs offline.
 */
export function tagOf(...texts: readonly string[]): number {
  let h = HASH_SEED;
  for (const text of texts) {
    h = mix(h, text.length);
    for (let i = 0; i < text.length; i++) h = mix(h, text.charCodeAt(i));
  }
  return finish(h);
}

/** 32-bit words in a UUID's 16 bytes. */
const WORDS = 4;

/** 32-bit words kept of each id: its UUID's, then its tag. */
const STRIDE = WORDS + 1;

/** The words of the last id `parse` read. */
const parsed = new Uint32Array(WORDS);

/**
 * Varies the table's hashes and the tags from process to process, as V8 seeds its string hashes:
 * ids chosen to collide, or messages to share a tag (a client picks both), cannot be worked out
 * offline.
 */
const HASH_SEED = Math.floor(Math.random() * 2 ** 32);

/**
 * Ids in order, kept off the JavaScript heap. A message id is a lower-case UUID (the commands'
 * schema makes it one), held here as its 16 bytes in one typed array with an open-addressing
 * table of positions to find it by. An id in any other form, which no command lets through, is
 * kept in a `Map`. Each id's tag follows its words.
 *
 * As strings in a `Map`, the ids took 85 – 104 bytes each on the heap in sessions of 50 messages
 * or more, and every full collection marked each one: over a benchmark run of 300 s, the server's
 * live heap grew from 42 to some 70 MB, and each full collection's marking from some 35 to 70 ms
 * of its main thread. Held here, the ids take 30 – 49 bytes each with their tags in such sessions
 * (26 – 42 before the tags), and both stay flat (`bench/NOTES.md`).
 */
class IdTable {
  /** How many ids the table holds; their positions are 0 to `size - 1`. */
  size = 0;
  /** How many ids `cells` has room for: 0, or a power of two from 4. */
  private capacity = 0;
  /**
   * First `2 * capacity` slots, each 0 (free) or the position + 1 of an id whose hash leads to
   * it or to a taken slot before it; at most half of them are taken. Then each id's words and
   * tag, at `2 * capacity + STRIDE * position`; zeros for the words of an id kept in `others`.
   */
  private cells = new Uint32Array(0);
  /** The positions of ids that are not lower-case UUIDs; made with the first one. */
  private others: Map<string, number> | undefined;

  /** The position of `id`; -1 when it is not among the ids. */
  positionOf(id: string): number {
    return parse(id) ? this.find() : (this.others?.get(id) ?? -1);
  }

  /** Puts `id`, tagged `tag`, at position `size`, unless the table holds it already; whether it did. */
  add(id: string, tag: number): boolean {
    const uuid = parse(id);
    if (uuid ? this.find() !== -1 : this.others?.has(id)) return false;
    // Growing leaves `parsed` as it is: it hashes the ids from their words in `cells`.
    if (this.size === this.capacity) this.resize(Math.max(4, 2 * this.capacity));
    const position = this.size++;
    this.cells[this.wordsAt(position) + WORDS] = tag;
    if (uuid) {
      this.cells.set(parsed, this.wordsAt(position));
      this.place(position);
    } else {
      (this.others ??= new Map()).set(id, position);
    }
    return true;
  }

  tagAt(position: number): number {
    return this.cells[this.wordsAt(position) + WORDS]!;
  }

  /** A table of its own holding the first `length` ids. */
  prefix(length: number): IdTable {
    const copy = new IdTable();
    for (const [id, position] of this.others ?? []) if (position < length) (copy.others ??= new Map()).set(id, position);
    copy.cells = this.cells;
    copy.capacity = this.capacity;
    copy.size = length;
    copy.resize(Math.max(4, 2 ** Math.ceil(Math.log2(length))));
    return copy;
  }

  /** The position of the id in `parsed`; -1 when it is not among the ids. */
  private find(): number {
    if (this.capacity === 0) return -1;
    const { cells } = this;
    const mask = 2 * this.capacity - 1;
    for (let slot = hash(parsed, 0) & mask; cells[slot] !== 0; slot = (slot + 1) & mask) {
      const position = cells[slot]! - 1;
      const at = this.wordsAt(position);
      if (cells[at] === parsed[0] && cells[at + 1] === parsed[1] && cells[at + 2] === parsed[2] && cells[at + 3] === parsed[3]) {
        return position;
      }
    }
    return -1;
  }

  /** Moves the ids to new cells with room for `capacity` ids. */
  private resize(capacity: number): void {
    const oldCells = this.cells;
    const oldWords = this.wordsAt(0);
    this.cells = new Uint32Array((2 + STRIDE) * capacity);
    this.capacity = capacity;
    this.cells.set(oldCells.subarray(oldWords, oldWords + STRIDE * this.size), this.wordsAt(0));
    const others = new Set(this.others?.values());
    for (let position = 0; position < this.size; position++) if (!others.has(position)) this.place(position);
  }

  /** Takes the first free slot from the hash of the id whose words are at `position`. */
  private place(position: number): void {
    const mask = 2 * this.capacity - 1;
    let slot = hash(this.cells, this.wordsAt(position)) & mask;
    while (this.cells[slot] !== 0) slot = (slot + 1) & mask;
    this.cells[slot] = position + 1;
  }

  /** Where in `cells` the words of the id at `position` are, its tag after them. */
  private wordsAt(position: number): number {
    return 2 * this.capacity + STRIDE * position;
  }
}

/**
 * Reads a lower-case UUID's 32 hex digits into `parsed`, four words in their order; false, with
 * `parsed` spoilt, for any other string.
 */
function parse(id: string): boolean {
  if (id.length !== 36) return false;
  let word = 0;
  let digits = 0;
  for (let i = 0; i < 36; i++) {
    const code = id.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (code !== 0x2d) return false;
      continue;
    }
    const digit = code >= 0x30 && code <= 0x39 ? code - 0x30 : code >= 0x61 && code <= 0x66 ? code - 0x57 : -1;
    if (digit < 0) return false;
    word = (word << 4) | digit;
    if (++digits % 8 === 0) {
      parsed[digits / 8 - 1] = word;
      word = 0;
    }
  }
  return true;
}

/** A seeded hash of the id whose words are at `at` in `words`. */
function hash(words: Uint32Array, at: number): number {
  let h = HASH_SEED;
  for (let i = 0; i < WORDS; i++) h = mix(h, words[at + i]!);
  return finish(h);
}

/** The hash so far, `h`, with `word` taken in (MurmurHash3's mixing step). */
function mix(h: number, word: number): number {
  h = Math.imul(h ^ word, 0xcc9e2d51);
  return Math.imul((h << 15) | (h >>> 17), 0x1b873593);
}

/** The hash `h` with its bits spread (MurmurHash3's finalizer), as an unsigned 32-bit number. */
function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return (h ^ (h >>> 16)) >>> 0;
}

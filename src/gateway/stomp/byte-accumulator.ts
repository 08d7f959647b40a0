/** What an empty accumulator holds: shared, as nothing is ever written into a zero-length buffer. */
const EMPTY = Buffer.alloc(0);

/**
 * The bytes of an unfinished line or body, held between chunks in one growing buffer rather than
 * a list of slices: its memory stays proportional to the bytes held, even when a client trickles
 * a frame in one-byte chunks. Internal to the parser.
 */
export class ByteAccumulator {
  #buffer = EMPTY;
  #length = 0;

  /** How many bytes are held. */
  get length(): number {
    return this.#length;
  }

  /** The last byte held, or `undefined` when empty. */
  get lastByte(): number | undefined {
    return this.#length === 0 ? undefined : this.#buffer[this.#length - 1];
  }

  /** The held bytes followed by `tail`, without consuming them (a copy). */
  peek(tail: Uint8Array): Buffer {
    return Buffer.concat([this.#buffer.subarray(0, this.#length), tail]);
  }

  /** Copies `bytes` in, growing the buffer geometrically so that appends stay linear. */
  append(bytes: Uint8Array): void {
    const needed = this.#length + bytes.length;
    if (needed > this.#buffer.length) this.#grow(needed);
    this.#buffer.set(bytes, this.#length);
    this.#length = needed;
  }

  /** The held bytes followed by `tail`, in a buffer the caller owns; the accumulator is emptied. */
  take(tail: Uint8Array): Buffer {
    if (this.#length === 0) return Buffer.from(tail);
    this.append(tail);
    const taken = this.#buffer.subarray(0, this.#length);
    this.clear();
    return taken;
  }

  /** Drops the held bytes and the buffer, so an idle connection holds nothing. */
  clear(): void {
    this.#buffer = EMPTY;
    this.#length = 0;
  }

  #grow(needed: number): void {
    const grown = Buffer.allocUnsafe(Math.max(needed, this.#buffer.length * 2, 256));
    this.#buffer.copy(grown, 0, 0, this.#length);
    this.#buffer = grown;
  }
}

/**
 * A session's message ids in order, as an immutable value that `evolve` extends by one id in
 * constant time and that answers "which position has this id?" in constant time as well.
 *
 * A copied array (the state's list until then) made both linear in the session's length: folding
 * a stream of 20,000 messages took 3.6 s of the event loop, and deciding a SEND to it 2.8 ms
 * (`bench/NOTES.md`).
 *
 * Every value sees a prefix of one shared `Map` from id to position, its first `length` entries:
 * the value at the end of the prefix appends in place, which no value before it can see. Only a
 * value that is no longer the last one (a state extended twice, which the write side does not do)
 * copies its prefix first.
 */
export class MessageIds {
  /** No ids, in a map of its own: a shared empty value would collect the first session's ids. */
  static empty(): MessageIds {
    return new MessageIds(new Map(), 0);
  }

  private constructor(
    /** Position of each id, in the order the ids came; shared by a value and its successors. */
    private readonly positions: Map<string, number>,
    /** How many ids of `positions` this value holds. */
    readonly length: number,
  ) {}

  /** The ids with `id` after them. A repeated id keeps its first position and adds nothing. */
  append(id: string): MessageIds {
    if (this.has(id)) return this;
    const positions = this.positions.size === this.length ? this.positions : this.copyOfPrefix();
    positions.set(id, this.length);
    return new MessageIds(positions, this.length + 1);
  }

  /** The position of `id`, from 0; -1 when it is not among these ids. */
  indexOf(id: string): number {
    const position = this.positions.get(id);
    return position !== undefined && position < this.length ? position : -1;
  }

  has(id: string): boolean {
    return this.indexOf(id) !== -1;
  }

  private copyOfPrefix(): Map<string, number> {
    const prefix = new Map<string, number>();
    for (const [id, position] of this.positions) {
      if (position >= this.length) break;
      prefix.set(id, position);
    }
    return prefix;
  }
}

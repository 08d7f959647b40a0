/** A minimal typed event emitter (no DOM needed, so the connection runs under Node tests too). */
export class Emitter<Events extends object> {
  readonly #handlers = new Map<keyof Events, Set<(detail: never) => void>>();

  /** Calls `handler` with each `type` event until the returned function is called. */
  on<K extends keyof Events>(type: K, handler: (detail: Events[K]) => void): () => void {
    let handlers = this.#handlers.get(type);
    if (!handlers) this.#handlers.set(type, (handlers = new Set()));
    handlers.add(handler as (detail: never) => void);
    return () => void handlers.delete(handler as (detail: never) => void);
  }

  protected emit<K extends keyof Events>(type: K, detail: Events[K]): void {
    for (const handler of this.#handlers.get(type) ?? []) (handler as (detail: Events[K]) => void)(detail);
  }
}

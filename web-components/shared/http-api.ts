import type { Page } from './protocol.js';

/** The server refused the token (401): the host page has to supply another one. */
export class AuthRequired extends Error {
  override readonly name = 'AuthRequired';
}

/** A non-2xx answer other than 401; `message` is the server's. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The HTTP API of DESIGN.md, with the bearer token of the moment. */
export class HttpApi {
  constructor(
    private readonly server: URL,
    private readonly token: () => string,
  ) {}

  /**
   * GETs `path` (from the server's base URL, a path of its own included) as JSON.
   * @throws {AuthRequired} on 401, {HttpError} on any other refusal, TypeError when unreachable.
   */
  async get<T>(path: string): Promise<T> {
    const response = await fetch(new URL(path.replace(/^\/+/, ''), this.server), {
      headers: { authorization: `Bearer ${this.token()}`, accept: 'application/json' },
    });
    const body = (await response.json().catch(() => undefined)) as { message?: unknown } | undefined;
    if (response.status === 401) throw new AuthRequired(String(body?.message ?? 'the token was refused'));
    if (!response.ok) throw new HttpError(response.status, String(body?.message ?? response.statusText));
    return body as T;
  }

  /**
   * Every item of a paged list (`{items, nextCursor}`, 100 a page) from `path`, following
   * `nextCursor`, up to `maxPages` pages; `complete` is false when the list goes on past them.
   * @throws as {@link get}.
   */
  async getAll<T>(path: string, maxPages: number): Promise<{ items: T[]; complete: boolean }> {
    const items: T[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < maxPages; pages += 1) {
      const query = `${path.includes('?') ? '&' : '?'}limit=100${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
      const page: Page<T> = await this.get<Page<T>>(`${path}${query}`);
      items.push(...page.items);
      cursor = page.nextCursor;
      if (cursor === null) return { items, complete: true };
    }
    return { items, complete: false };
  }
}

/**
 * The server's base URL: the `server` attribute, or the page's own origin when it is empty. A
 * path in it is kept, as the place Parley is served from behind a proxy (`https://example.com/chat`:
 * `…/chat/api/…`, `…/chat/stomp`); the URL ends with `/`, to resolve those against.
 */
export function serverUrl(server: string | undefined): URL {
  const url = new URL(server && server.trim() !== '' ? server : globalThis.location.origin);
  if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
  url.search = '';
  url.hash = '';
  return url;
}

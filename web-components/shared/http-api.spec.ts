import { jest } from '@jest/globals';
import { HttpApi, serverUrl } from './http-api.js';
import { stompUrl } from './protocol.js';

/** A server of `total` numbered items, newest first, paged as `GET /api/sessions` pages them. */
function pagedServer(total: number): { requests: string[] } {
  const requests: string[] = [];
  jest.spyOn(globalThis, 'fetch').mockImplementation(async (input) => {
    const url = new URL(String(input));
    requests.push(`${url.pathname}${url.search}`);
    const limit = Number(url.searchParams.get('limit'));
    const start = Number(url.searchParams.get('cursor') ?? 0);
    const items = Array.from({ length: Math.max(0, Math.min(limit, total - start)) }, (_, i) => start + i);
    const nextCursor = start + limit < total ? String(start + limit) : null;
    return new Response(JSON.stringify({ items, nextCursor }), { status: 200 });
  });
  return { requests };
}

describe('reading a paged list', () => {
  const api = new HttpApi(new URL('http://parley.test'), () => 'token');
  afterEach(() => jest.restoreAllMocks());

  it('follows nextCursor to the last page', async () => {
    const server = pagedServer(250);
    const { items, complete } = await api.getAll<number>('/api/sessions?status=waiting', 20);
    expect(complete).toBe(true);
    expect(items).toEqual(Array.from({ length: 250 }, (_, i) => i));
    expect(server.requests).toEqual([
      '/api/sessions?status=waiting&limit=100',
      '/api/sessions?status=waiting&limit=100&cursor=100',
      '/api/sessions?status=waiting&limit=100&cursor=200',
    ]);
  });

  it('stops at its bound and says the list goes on', async () => {
    const server = pagedServer(350);
    const { items, complete } = await api.getAll<number>('/api/sessions?status=active', 2);
    expect(complete).toBe(false);
    expect(items).toHaveLength(200);
    expect(server.requests).toHaveLength(2);
  });

  it('is complete when the last page is full and no cursor follows it', async () => {
    pagedServer(200);
    expect(await api.getAll<number>('/api/sessions?status=waiting', 2)).toMatchObject({ complete: true });
  });
});

describe('the server a component is given', () => {
  afterEach(() => jest.restoreAllMocks());

  it('is reached at its root, or under the path it is served from behind a proxy', async () => {
    const requests: string[] = [];
    jest.spyOn(globalThis, 'fetch').mockImplementation(async (input) => {
      requests.push(String(input));
      return new Response('{}', { status: 200 });
    });
    for (const server of ['https://chat.example.com', 'https://chat.example.com/', 'https://example.com/support/chat', 'https://example.com/support/chat/?x=1']) {
      await new HttpApi(serverUrl(server), () => 'token').get('/api/sessions?limit=5');
    }
    expect(requests).toEqual([
      'https://chat.example.com/api/sessions?limit=5',
      'https://chat.example.com/api/sessions?limit=5',
      'https://example.com/support/chat/api/sessions?limit=5',
      'https://example.com/support/chat/api/sessions?limit=5',
    ]);
    expect([stompUrl(serverUrl('https://chat.example.com')), stompUrl(serverUrl('http://example.com/support/chat'))]).toEqual([
      'wss://chat.example.com/stomp',
      'ws://example.com/support/chat/stomp',
    ]);
  });
});

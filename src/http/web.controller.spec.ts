import { join } from 'node:path';
import { type INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ROOT, runNode } from '../../test/processes.js';
import { WebController } from './web.controller.js';

@Module({ controllers: [WebController] })
class WebOnly {}

/** `/widget.js` and the demo pages, as a browser (or a CDN in front) gets them. */
describe('the web components over HTTP', () => {
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    const build = await runNode(join(ROOT, 'web-components', 'build.mjs'), [], {}, ROOT, 60_000);
    expect(build).toEqual({ code: 0, output: expect.stringMatching(/KiB gzipped \(budget 60\.0 KiB\)/) });
    app = await NestFactory.create(WebOnly, { logger: false });
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
  }, 90_000);
  afterAll(() => app?.close());

  it('serves the bundle as JavaScript any origin may load, cacheable and revalidated by its ETag', async () => {
    const response = await fetch(`${base}/widget.js`);
    expect(response.status).toBe(200);
    expect(Object.fromEntries(['content-type', 'cache-control', 'access-control-allow-origin', 'x-content-type-options'].map((name) => [name, response.headers.get(name)]))).toEqual({
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'public, max-age=300, must-revalidate',
      'access-control-allow-origin': '*',
      'x-content-type-options': 'nosniff',
    });
    const body = await response.text();
    for (const tag of ['chat-widget', 'agent-console', 'session-replay']) expect(body).toContain(`"${tag}"`);

    const etag = response.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]{27}"$/);
    const again = await fetch(`${base}/widget.js`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
  });

  it('serves the demo page with the widget, and the agent and auditor pages', async () => {
    for (const [path, element] of [['/', '<chat-widget'], ['/agent', '<agent-console'], ['/auditor', '<session-replay']] as const) {
      const response = await fetch(`${base}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      const html = await response.text();
      expect(html).toContain(element);
      expect(html).toContain('<script type="module" src="/widget.js"></script>');
    }
    const login = await fetch(`${base}/dev-login.js`);
    expect(login.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await login.text()).toContain('/api/dev/token');
  });
});

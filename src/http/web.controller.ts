import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Controller, Get, Logger, Req, Res } from '@nestjs/common';

/** The built web components and demo pages (`npm run build` writes them: `web-components/build.mjs`). */
const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = HERE.endsWith(join('dist', 'src', 'http')) ? join(HERE, '..', '..', '..') : join(HERE, '..', '..');
export const WEB_DIR = join(ROOT, 'dist', 'web');

/** The few response methods used here (Express's). */
interface Response {
  status(code: number): this;
  set(headers: Record<string, string>): this;
  send(body: Buffer | string): void;
  end(): void;
}
interface Request {
  headers: Record<string, string | string[] | undefined>;
}

interface Asset {
  readonly mtimeMs: number;
  readonly body: Buffer;
  readonly etag: string;
}

const JAVASCRIPT = 'text/javascript; charset=utf-8';
const HTML = 'text/html; charset=utf-8';

/**
 * `GET /widget.js`: the one bundle of `<chat-widget>`, `<agent-console>` and `<session-replay>`;
 * `GET /`: a demo car-rental page with the widget; `GET /agent`, `GET /auditor`: the console and
 * the replay. The pages get dev tokens from `POST /api/dev/token`.
 */
@Controller()
export class WebController {
  readonly #logger = new Logger('WebController');
  readonly #cache = new Map<string, Asset>();

  /**
   * The bundle: cacheable for five minutes, then revalidated by its ETag; any origin may load it
   * (`<script type="module">` fetches cross-origin with CORS).
   */
  @Get('widget.js')
  widget(@Req() request: Request, @Res() response: Response): Promise<void> {
    return this.#serve('widget.js', JAVASCRIPT, 'public, max-age=300, must-revalidate', request, response, { 'access-control-allow-origin': '*' });
  }

  @Get('dev-login.js')
  devLogin(@Req() request: Request, @Res() response: Response): Promise<void> {
    return this.#serve(join('pages', 'dev-login.js'), JAVASCRIPT, 'no-cache', request, response);
  }

  @Get()
  home(@Req() request: Request, @Res() response: Response): Promise<void> {
    return this.#serve(join('pages', 'index.html'), HTML, 'no-cache', request, response);
  }

  @Get('agent')
  agent(@Req() request: Request, @Res() response: Response): Promise<void> {
    return this.#serve(join('pages', 'agent.html'), HTML, 'no-cache', request, response);
  }

  @Get('auditor')
  auditor(@Req() request: Request, @Res() response: Response): Promise<void> {
    return this.#serve(join('pages', 'auditor.html'), HTML, 'no-cache', request, response);
  }

  async #serve(name: string, type: string, cacheControl: string, request: Request, response: Response, extra: Record<string, string> = {}): Promise<void> {
    const asset = await this.#read(name);
    if (!asset) {
      response
        .status(503)
        .set({ 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
        .send(`The web components are not built (${join('dist', 'web', name)} is missing): run npm run build.\n`);
      return;
    }
    response.set({ 'content-type': type, 'cache-control': cacheControl, etag: asset.etag, 'x-content-type-options': 'nosniff', ...extra });
    const ifNoneMatch = request.headers['if-none-match'];
    if (typeof ifNoneMatch === 'string' && ifNoneMatch.split(/\s*,\s*/).includes(asset.etag)) {
      response.status(304).end();
      return;
    }
    response.status(200).send(asset.body);
  }

  /** The file, read again only when it changed on disk (a rebuild needs no restart). */
  async #read(name: string): Promise<Asset | undefined> {
    const file = join(WEB_DIR, name);
    if (!file.startsWith(WEB_DIR + sep)) return undefined;
    let mtimeMs: number;
    try {
      mtimeMs = (await stat(file)).mtimeMs;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      this.#logger.warn(`${file} is missing: run npm run build`);
      return undefined;
    }
    const cached = this.#cache.get(name);
    if (cached?.mtimeMs === mtimeMs) return cached;
    const body = await readFile(file);
    const asset = { mtimeMs, body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
    this.#cache.set(name, asset);
    return asset;
  }
}

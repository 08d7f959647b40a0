import { HttpStatus } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';

/**
 * Express, told when `app.close()` begins: Nest calls `beforeClose` before any shutdown hook.
 * (Nest's own `return503OnClosing` answers ahead of every middleware, CORS included, in plain
 * text: a page of another site could not read it, and took the server for unreachable.)
 */
export class StoppingExpressAdapter extends ExpressAdapter {
  #stopping = false;

  /** Whether `app.close()` has begun. */
  get stopping(): boolean {
    return this.#stopping;
  }

  override beforeClose(): void {
    this.#stopping = true;
    super.beforeClose();
  }
}

interface Response {
  set(name: string, value: string): Response;
  status(code: number): Response;
  json(body: unknown): void;
}

/**
 * Middleware refusing every request with a 503 in the API's JSON shape once `server` stops;
 * used after the CORS middleware, so that the pages of other sites can read it.
 */
export function refusedWhileStopping(server: StoppingExpressAdapter) {
  return (_request: unknown, response: Response, next: () => void): void => {
    if (!server.stopping) return next();
    // The client reconnects, to another node if there is one, rather than keep this connection.
    response.set('connection', 'close').status(HttpStatus.SERVICE_UNAVAILABLE).json({
      statusCode: HttpStatus.SERVICE_UNAVAILABLE,
      error: 'Service Unavailable',
      message: 'the server is stopping; retry shortly',
    });
  };
}

import {
  type CanActivate,
  createParamDecorator,
  type ExecutionContext,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { InvalidToken, type Principal, TokenService } from './tokens.js';

type AuthenticatedRequest = { headers: Record<string, string | string[] | undefined>; principal?: Principal };

/**
 * HTTP routes behind it need `Authorization: Bearer <JWT>`; 401 saying why otherwise, with the
 * `WWW-Authenticate` challenge of RFC 6750.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(private readonly tokens: TokenService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const challenge = (value: string) => context.switchToHttp().getResponse<{ setHeader(name: string, value: string): void }>().setHeader('WWW-Authenticate', value);
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) {
      challenge('Bearer realm="parley"');
      throw new UnauthorizedException('an Authorization: Bearer <token> header is required');
    }
    try {
      request.principal = (await this.tokens.verify(match[1]!)).principal;
    } catch (error) {
      if (!(error instanceof InvalidToken)) throw error;
      challenge('Bearer realm="parley", error="invalid_token"');
      throw new UnauthorizedException(error.message);
    }
    return true;
  }
}

/** The verified caller of a route behind {@link AuthGuard}. */
export const CurrentPrincipal = createParamDecorator((_: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal) throw new Error('CurrentPrincipal used on a route without AuthGuard');
  return principal;
});

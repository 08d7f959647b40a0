import { BadRequestException, Body, Controller, Headers, HttpCode, NotFoundException, Post, UnsupportedMediaTypeException } from '@nestjs/common';
import { z } from 'zod';
import { isWellFormedText } from '../chat-session/text.js';
import { DevTokensDisabled, MAX_IDENTITY_LENGTH, ROLES, TokenService } from './tokens.js';

const devTokenRequest = z.object({
  sub: z.string().trim().min(1).max(MAX_IDENTITY_LENGTH).refine(isWellFormedText, 'must be valid Unicode text'),
  role: z.enum(ROLES),
  name: z.string().trim().min(1).max(MAX_IDENTITY_LENGTH).refine(isWellFormedText, 'must be valid Unicode text').optional(),
}).strict();

/** The dev token's route, answered to the server's own pages only (no CORS). */
export const DEV_TOKEN_PATH = 'api/dev/token';

/** `POST /api/dev/token`: a token for any user and role, only when dev tokens are enabled. */
@Controller(DEV_TOKEN_PATH)
export class DevTokenController {
  constructor(private readonly tokens: TokenService) {}

  @Post()
  @HttpCode(200)
  async issue(@Body() body: unknown, @Headers('content-type') contentType: string | undefined): Promise<{ token: string }> {
    if (!this.tokens.devTokens) throw new NotFoundException('dev tokens are disabled on this server');
    // Any other body is not read as JSON, and would be refused for the fields it seems to lack.
    if (contentType?.split(';')[0]!.trim().toLowerCase() !== 'application/json') {
      throw new UnsupportedMediaTypeException('the body must be JSON, sent with Content-Type: application/json');
    }
    const parsed = devTokenRequest.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new BadRequestException(`${issue.path.join('.') || 'body'}: ${issue.message}`);
    }
    try {
      const { sub, role, name } = parsed.data;
      return { token: await this.tokens.issueDevToken({ id: sub, role, ...(name ? { name } : {}) }) };
    } catch (error) {
      if (error instanceof DevTokensDisabled) throw new NotFoundException(error.message);
      throw error;
    }
  }
}

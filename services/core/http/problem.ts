/** An error answer: the code's HTTP status (errors.ts), and `{error, message, …}` as the body. */
import type { FastifyReply } from 'fastify';
import { errorCatalog, type ErrorCode } from '../errors.ts';

export function problem(reply: FastifyReply, code: ErrorCode, message: string, extra: Record<string, unknown> = {}) {
  reply.code(errorCatalog[code].status);
  return { error: code, message, ...extra };
}

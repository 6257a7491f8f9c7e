/** The part of a Fastify reply the framework error answer uses (both Fastify copies' replies have it). */
interface ErrorReply {
  status(statusCode: number): ErrorReply;
  header(key: string, value: string): ErrorReply;
  send(payload: unknown): unknown;
}

/**
 * Errors Fastify raises before routing (over-long path parameters, malformed URLs) get the same
 * {"error": {code, message}} body as everything else; both listeners' `frameworkErrors` option call it.
 */
export function sendFrameworkError(code: string | undefined, reply: ErrorReply): void {
  const tooLong = code === 'FST_ERR_MAX_PARAM_LENGTH';
  void reply
    .status(tooLong ? 414 : 400)
    .header('cache-control', 'no-store')
    .send({
      error: {
        code: tooLong ? 'URI_TOO_LONG' : 'BAD_REQUEST',
        message: tooLong ? 'a path parameter is too long' : 'the request URL is malformed',
      },
    });
}

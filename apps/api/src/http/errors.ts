import { HttpException } from '@nestjs/common';
import { AuthError, MfaError, SsoError, SSO_ERROR_STATUS } from '@app/auth';
import { DomainError, ErrorCode } from '@app/keys';

/** The one mapping from errors to `{"error": {"code", "message"}}` + status: libs throw coded errors, the edge maps them. */
export interface ErrorReply {
  status: number;
  body: { error: { code: string; message: string } };
  headers?: Record<string, string>;
}

const DOMAIN_STATUS: Record<ErrorCode, number> = {
  [ErrorCode.ValidationFailed]: 400,
  [ErrorCode.InvalidCursor]: 400,
  [ErrorCode.BulkSelectionTooLarge]: 400,
  [ErrorCode.BulkOperationNotFound]: 404,
  [ErrorCode.InvalidIdentifier]: 400,
  [ErrorCode.ExternalIdNotAccepted]: 400,
  [ErrorCode.ProviderNotConfigured]: 400,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.TenantNotFound]: 404,
  [ErrorCode.WorkspaceNotFound]: 404,
  [ErrorCode.KeyConfigurationNotFound]: 404,
  [ErrorCode.OperationNotFound]: 404,
  [ErrorCode.ServicePrincipalNotFound]: 404,
  [ErrorCode.SecretNotFound]: 404,
  [ErrorCode.NameTaken]: 409,
  [ErrorCode.KeyConfigurationInUse]: 409,
  [ErrorCode.KeyConfigurationInvalid]: 409,
  [ErrorCode.WorkspaceBusy]: 409,
  [ErrorCode.WorkspaceUnbound]: 409,
  [ErrorCode.OperationNotAllowed]: 409,
  [ErrorCode.WorkspaceShredded]: 410,
  [ErrorCode.WorkspaceDestroyed]: 410,
  [ErrorCode.DestroyedWorkspaceNotBindable]: 409,
  [ErrorCode.ConfirmationMismatch]: 400,
  [ErrorCode.KmsRefused]: 422,
  [ErrorCode.KmsUnavailable]: 503,
  [ErrorCode.KeyIntegrity]: 500,
  [ErrorCode.SegmentDestroyed]: 410,
  [ErrorCode.DekQuotaExceeded]: 429,
  [ErrorCode.DekCreateRateLimited]: 429,
  [ErrorCode.KekWrapLimit]: 503,
  [ErrorCode.AuditLogTampered]: 409,
  [ErrorCode.PasswordNotAccepted]: 400,
  [ErrorCode.PasswordTooWeak]: 400,
  [ErrorCode.InvalidCurrentPassword]: 400,
  [ErrorCode.InvitationNotFound]: 404,
  [ErrorCode.ResetLinkNotFound]: 404,
  [ErrorCode.AdminUserNotFound]: 404,
  [ErrorCode.InvitationPending]: 409,
  [ErrorCode.AccountExists]: 409,
  [ErrorCode.LastKeyAdmin]: 409,
  [ErrorCode.MailUnavailable]: 503,
  [ErrorCode.InvalidAccessReason]: 400,
  [ErrorCode.InvalidAccessTicket]: 400,
  [ErrorCode.ReasonDenied]: 403,
  [ErrorCode.ReasonRequired]: 403,
};

const AUTH_STATUS: Record<AuthError['code'], number> = {
  UNAUTHENTICATED: 401,
  INVALID_GRANT: 400,
  INVALID_CLIENT: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  CLIENT_CERTIFICATE_MISMATCH: 401,
};

/** Fastify's own request errors (parsing, limits) by their error code. */
const FASTIFY_CODES: Record<string, [number, string]> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'UNSUPPORTED_MEDIA_TYPE'],
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'PAYLOAD_TOO_LARGE'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'MALFORMED_JSON'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'MALFORMED_JSON'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'BAD_REQUEST'],
};

const STATUS_CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  408: 'REQUEST_TIMEOUT',
  409: 'CONFLICT',
  411: 'LENGTH_REQUIRED',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  431: 'HEADERS_TOO_LARGE',
};

export function toErrorReply(err: unknown): ErrorReply & { internal: boolean } {
  if (err instanceof DomainError) {
    const status = DOMAIN_STATUS[err.code] ?? 500;
    return {
      status,
      body: {
        error: {
          code: err.code,
          message: status >= 500 && err.code === ErrorCode.KeyIntegrity ? 'key integrity check failed' : err.message,
        },
      },
      headers: err.retryAfterSeconds ? { 'retry-after': String(err.retryAfterSeconds) } : undefined,
      internal: status >= 500 && status !== 503,
    };
  }
  if (err instanceof MfaError) {
    const headers: Record<string, string> = err.status === 401 ? { 'www-authenticate': 'Bearer realm="keyhold"' } : {};
    return { status: err.status, body: { error: { code: err.code, message: err.message } }, headers, internal: false };
  }
  if (err instanceof AuthError) {
    const status = AUTH_STATUS[err.code];
    const headers: Record<string, string> = {};
    if (status === 401) headers['www-authenticate'] = 'Bearer realm="keyhold"';
    if (err.retryAfterSeconds) headers['retry-after'] = String(err.retryAfterSeconds);
    return { status, body: { error: { code: err.code, message: err.message } }, headers, internal: false };
  }
  if (err instanceof SsoError) {
    const status = SSO_ERROR_STATUS[err.code];
    return {
      status,
      body: { error: { code: err.code, message: err.message } },
      headers: status === 503 ? { 'retry-after': '30' } : undefined,
      internal: false,
    };
  }
  const e = err as { code?: string; statusCode?: number; message?: string; name?: string };
  // Fastify's JSON parser throws a SyntaxError carrying statusCode 400.
  if (e && e.statusCode === 400 && (err instanceof SyntaxError || /JSON/.test(String(e.message)))) {
    return {
      status: 400,
      body: { error: { code: 'MALFORMED_JSON', message: friendly('MALFORMED_JSON') } },
      internal: false,
    };
  }
  if (e && typeof e.code === 'string' && FASTIFY_CODES[e.code]) {
    const [status, code] = FASTIFY_CODES[e.code];
    return { status, body: { error: { code, message: friendly(code) } }, internal: false };
  }
  if (err instanceof HttpException) {
    const status = err.getStatus();
    // Nest's Fastify adapter re-throws Fastify's JSON parse failure as a plain 400 HttpException.
    if (status === 400 && /not valid JSON|JSON/.test(err.message))
      return {
        status,
        body: { error: { code: 'MALFORMED_JSON', message: friendly('MALFORMED_JSON') } },
        internal: false,
      };
    const code = STATUS_CODES[status] ?? (status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST');
    return {
      status,
      body: { error: { code, message: status === 404 ? 'not found' : friendly(code) } },
      internal: status >= 500,
    };
  }
  if (e && typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const code = STATUS_CODES[e.statusCode] ?? 'BAD_REQUEST';
    return { status: e.statusCode, body: { error: { code, message: friendly(code) } }, internal: false };
  }
  // Postgres restarting, a connection killed by the server, or the pool unable to connect: the request did nothing,
  // the client may retry. A 503 with Retry-After (like KMS_UNAVAILABLE), never a 500.
  if (isStoreUnavailable(err)) {
    return {
      status: 503,
      body: { error: { code: 'STORE_UNAVAILABLE', message: 'the key store is briefly unavailable; retry shortly' } },
      headers: { 'retry-after': '1' },
      internal: false,
    };
  }
  return { status: 500, body: { error: { code: 'INTERNAL_ERROR', message: 'internal error' } }, internal: true };
}

/**
 * SQLSTATE class 08 (connection exception), 57P01-57P03 (admin shutdown, crash shutdown, cannot connect now), socket
 * errors, and pg's own errors for a pooled client whose connection broke ("… is not queryable").
 */
function isStoreUnavailable(err: unknown): boolean {
  let cur: unknown = err;
  for (let i = 0; i < 4 && cur && typeof cur === 'object'; i++) {
    const c = cur as { code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown };
    const code = typeof c.code === 'string' ? c.code : '';
    if (/^08/.test(code) || code === '57P01' || code === '57P02' || code === '57P03') return true;
    if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EPIPE') return true;
    if (
      typeof c.message === 'string' &&
      /Connection terminated|terminating connection|connection timeout|timeout exceeded when trying to connect|is not queryable/i.test(
        c.message,
      )
    )
      return true;
    cur = c.driverError ?? c.cause;
  }
  return false;
}

function friendly(code: string): string {
  switch (code) {
    case 'MALFORMED_JSON':
      return 'the request body is not valid JSON';
    case 'UNSUPPORTED_MEDIA_TYPE':
      return 'the request body must be application/json';
    case 'PAYLOAD_TOO_LARGE':
      return 'the request body is too large';
    case 'UNAUTHENTICATED':
      return 'authentication required';
    case 'FORBIDDEN':
      return 'not allowed';
    case 'METHOD_NOT_ALLOWED':
      return 'method not allowed';
    default:
      return code.toLowerCase().replace(/_/g, ' ');
  }
}

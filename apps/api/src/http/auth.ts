import {
  CanActivate,
  createParamDecorator,
  ExecutionContext,
  Inject,
  Injectable,
  SetMetadata,
  UseGuards,
  applyDecorators,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard, PassportStrategy } from '@nestjs/passport';
import {
  AccessClaims,
  ADMIN_TOKENS,
  AdminSessions,
  AuthError,
  bearerToken,
  Role,
  type VerifiedTokenCache,
} from '@app/auth';
import { KEYHOLD_CONFIG, type KeyholdConfig, matchOperatorToken, type OperatorTokenEntry } from '@app/config';
import { DomainError, ErrorCode } from '@app/keys';
import { isUuid } from '@app/persistence';
import { Strategy } from 'passport-strategy';

/** What the strategies verify a request against: one app's token cache, session state and operator tokens. */
export interface AuthContext {
  readonly adminTokens: VerifiedTokenCache;
  readonly adminSessions: AdminSessions;
  readonly operatorTokens: readonly OperatorTokenEntry[];
}

/**
 * Passport keeps strategies in one process-wide registry by name, so with two API apps in one process (tests,
 * benchmarks: several replicas in-process) the last app's strategy instance would verify every app's requests with
 * its own caches and session state. Each app therefore decorates its own Fastify instance with its AuthContext, and
 * the strategies read it from the request's server (no per-request work); the injected one is only the fallback.
 */
declare module 'fastify' {
  interface FastifyInstance {
    keyholdAuth?: AuthContext;
  }
}

type AuthRequest = { headers: Record<string, string | string[] | undefined>; server?: { keyholdAuth?: AuthContext } };

/** The AuthContext of this app's container (also decorated onto its Fastify instance by createApiApp). */
@Injectable()
export class AppAuthContext implements AuthContext {
  readonly operatorTokens: readonly OperatorTokenEntry[];

  constructor(
    @Inject(ADMIN_TOKENS) readonly adminTokens: VerifiedTokenCache,
    readonly adminSessions: AdminSessions,
    @Inject(KEYHOLD_CONFIG) config: KeyholdConfig,
  ) {
    this.operatorTokens = config.operatorTokens;
  }
}

/** Principal attached to the request by the strategies. */
export type Principal = { kind: 'operator'; name: string } | ({ kind: 'admin' } & AccessClaims);

type Verify = (
  req: { headers: Record<string, string | string[] | undefined> },
  done: (err: unknown, user?: unknown) => void,
) => void;

/** A passport strategy that reads `Authorization: Bearer …` and hands the request to the verify callback. */
class BearerStrategy extends Strategy {
  constructor(private readonly verifyRequest: Verify) {
    super();
  }

  override authenticate(req: { headers: Record<string, string | string[] | undefined> }): void {
    this.verifyRequest(req, (err, user) => {
      if (err) return this.error(err as Error);
      if (!user) return this.fail(401);
      return this.success(user);
    });
  }
}

/** Admin API tokens: HS256, audience keyhold-admin, role key_admin or auditor. */
@Injectable()
export class AdminTokenStrategy extends PassportStrategy(BearerStrategy, 'keyhold-admin') {
  constructor(private readonly auth: AppAuthContext) {
    super();
  }

  async validate(req: AuthRequest): Promise<Principal> {
    const s = req.server?.keyholdAuth ?? this.auth;
    const token = bearerToken(req.headers.authorization);
    if (!token) throw new AuthError('UNAUTHENTICATED', 'a Bearer access token is required');
    const claims = await s.adminTokens.verify(token);
    // A valid signature is not enough: the user must still exist, be enabled, and not have changed since.
    await s.adminSessions.assertCurrent(claims);
    return { kind: 'admin', ...claims };
  }
}

/** The platform operator's bearer tokens: named, optionally expiring, compared as hashes in constant time. */
@Injectable()
export class OperatorTokenStrategy extends PassportStrategy(BearerStrategy, 'keyhold-operator') {
  constructor(private readonly auth: AppAuthContext) {
    super();
  }

  validate(req: AuthRequest): Principal {
    const name = matchOperatorToken(
      bearerToken(req.headers.authorization),
      (req.server?.keyholdAuth ?? this.auth).operatorTokens,
    );
    // An expired token and an unknown one get the same answer: a token past its date is no token.
    if (name === null) throw new AuthError('UNAUTHENTICATED', 'a valid operator token is required');
    return { kind: 'operator', name };
  }
}

const ROLES = 'keyhold:roles';

/**
 * Separation of duties and tenant scoping in one place: the role must be allowed for the route, and a path
 * tenantId must equal the token's tenant — otherwise 404, exactly as for an id that does not exist.
 */
@Injectable()
export class TenantAccessGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(ctx: ExecutionContext): boolean {
    const req = ctx.switchToHttp().getRequest<{ user?: Principal; params?: Record<string, string> }>();
    const p = req.user;
    if (!p || p.kind !== 'admin') throw new AuthError('UNAUTHENTICATED', 'a Bearer access token is required');
    const tenantId = req.params?.tenantId;
    if (tenantId !== undefined && (!isUuid(tenantId) || tenantId.toLowerCase() !== p.tid))
      throw new DomainError(ErrorCode.NotFound, 'not found');
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES, [ctx.getHandler(), ctx.getClass()]) ?? [
      'key_admin',
    ];
    if (!roles.includes(p.role)) throw new AuthError('FORBIDDEN', `this action needs the ${roles.join(' or ')} role`);
    return true;
  }
}

/** Admin route: valid admin token, one of `roles` (default key_admin), path tenant = token tenant. */
export function AdminRoute(...roles: Role[]) {
  return applyDecorators(
    SetMetadata(ROLES, roles.length ? roles : ['key_admin']),
    UseGuards(AuthGuard('keyhold-admin'), TenantAccessGuard),
  );
}

export function OperatorRoute() {
  return UseGuards(AuthGuard('keyhold-operator'));
}

/** The verified claims of the admin calling. */
export const Claims = createParamDecorator((_data: unknown, ctx: ExecutionContext): AccessClaims => {
  const p = ctx.switchToHttp().getRequest<{ user: Principal }>().user;
  if (p.kind !== 'admin') throw new AuthError('UNAUTHENTICATED', 'admin token required');
  return p;
});

/** The name of the operator token calling (recorded as the actor `operator:<name>`). */
export const OperatorName = createParamDecorator((_data: unknown, ctx: ExecutionContext): string => {
  const p = ctx.switchToHttp().getRequest<{ user: Principal }>().user;
  if (p.kind !== 'operator') throw new AuthError('UNAUTHENTICATED', 'the operator token is required');
  return p.name;
});

export function actorOf(c: AccessClaims): string {
  return `admin:${c.sub}`;
}

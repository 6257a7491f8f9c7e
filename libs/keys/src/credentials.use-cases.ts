import { randomUUID } from 'node:crypto';
import {
  hashOneTimeToken,
  hashSecret,
  MailSender,
  newOneTimeToken,
  normalizeEmail,
  ONE_TIME_TOKEN_RE,
  passwordProblem,
  verifySecret,
} from '@app/auth';
import { AdminRole, isUuid, LastKeyAdminError, OneTimeLinkRow, pgCode, Queryable } from '@app/persistence';
import type { Actor, KeysDeps } from './context';
import { DomainError, ErrorCode } from './errors';

/** Tells every API replica that a user's older sessions are void (AdminSessions in libs/auth). */
export interface SessionRevoker {
  revoked(userId: string, generation: number | null): Promise<void>;
}

export interface CredentialsDeps extends KeysDeps {
  readonly mail: MailSender;
  readonly sessions: SessionRevoker;
  readonly invitationTtlSeconds: number;
  readonly passwordResetTtlSeconds: number;
  /** Where the console is reached; one-time links point at it (token in the URL fragment). */
  readonly consoleUrl: string;
  /** Failures of work done after the answer was sent (password-reset requests). */
  readonly onBackgroundError: (err: unknown) => void;
}

const invitationView = (l: OneTimeLinkRow) => ({
  id: l.id,
  email: l.email,
  role: l.role as AdminRole,
  expiresAt: new Date(l.expiresAt).toISOString(),
});

function linkState(l: OneTimeLinkRow): 'pending' | 'accepted' | 'revoked' | 'expired' {
  if (l.consumedAt) return 'accepted';
  if (l.revokedAt) return 'revoked';
  return new Date(l.expiresAt).getTime() <= Date.now() ? 'expired' : 'pending';
}

function assertStrong(password: string, email: string): void {
  const why = passwordProblem(password, email);
  if (why) throw new DomainError(ErrorCode.PasswordTooWeak, why);
}

/** A token that is not of the issued shape names no link: the same 404 as a used, revoked or expired one. */
function tokenHash(token: string, missing: ErrorCode): Buffer {
  if (typeof token !== 'string' || !ONE_TIME_TOKEN_RE.test(token))
    throw new DomainError(missing, 'this link is not valid (used, revoked, expired or mistyped)');
  return hashOneTimeToken(token);
}

export interface CreateInvitationCommand {
  readonly actor: Actor;
  readonly tenantId: string;
  readonly input: { readonly email: string; readonly role: AdminRole };
}

/**
 * Creates an invitation and mails its link, inside its own transaction (or the caller's): if the mail cannot be
 * handed over, nothing is created. The answer names the invitation, never its token.
 */
export class CreateInvitation {
  constructor(private readonly deps: CredentialsDeps) {}

  async execute(cmd: CreateInvitationCommand) {
    const view = invitationView(await this.deps.repos.ds.transaction((m) => this.create(cmd, m)));
    await this.audit(cmd.actor, cmd.tenantId, view);
    return view;
  }

  /**
   * Inside the caller's transaction and without an audit record: tenant creation records the tenant first and the
   * invitation second, in its own transaction.
   */
  async withinTransaction(cmd: CreateInvitationCommand, m: Queryable) {
    return invitationView(await this.create(cmd, m));
  }

  private async create({ actor, tenantId, input }: CreateInvitationCommand, m: Queryable) {
    const email = normalizeEmail(input.email);
    if (await this.deps.repos.adminAccounts.emailExists(m, tenantId, email))
      throw new DomainError(ErrorCode.AccountExists, 'an admin user with this email already exists');
    if (await this.deps.repos.oneTimeLinks.pendingInvitationExists(m, tenantId, email))
      throw new DomainError(
        ErrorCode.InvitationPending,
        'an invitation to this email is already pending; revoke it to send a new one',
      );
    const { token, hash } = newOneTimeToken();
    const link = await this.deps.repos.oneTimeLinks.insert(m, {
      id: randomUUID(),
      tenantId,
      kind: 'invitation',
      email,
      role: input.role,
      adminUserId: null,
      tokenHash: hash,
      createdBy: actor,
      expiresAt: new Date(Date.now() + this.deps.invitationTtlSeconds * 1000),
    });
    const url = `${this.deps.consoleUrl}/#/accept-invitation/${token}`;
    try {
      await this.deps.mail.send({
        to: email,
        kind: 'invitation',
        subject: 'You are invited to administer keys in Keyhold',
        text: `You have been invited as ${input.role === 'key_admin' ? 'a key admin' : 'an auditor'}. Choose your password here (valid until ${link.expiresAt.toISOString()}, usable once):\n${url}\n`,
        link: url,
      });
    } catch {
      throw new DomainError(ErrorCode.MailUnavailable, 'the invitation could not be sent; nothing was created', 30);
    }
    return link;
  }

  private async audit(
    actor: Actor,
    tenantId: string,
    v: { id: string; email: string; role: AdminRole },
  ): Promise<void> {
    await this.deps.audit.append(tenantId, {
      actor,
      action: 'invitation.created',
      target: `invitation:${v.id}`,
      outcome: 'success',
      details: { email: v.email, role: v.role },
    });
  }
}

export interface ListInvitationsCommand {
  readonly tenantId: string;
}

export class ListInvitations {
  constructor(private readonly deps: CredentialsDeps) {}

  async execute({ tenantId }: ListInvitationsCommand) {
    const list = await this.deps.repos.oneTimeLinks.listInvitations(tenantId);
    return list.map((l) => ({
      ...invitationView(l),
      createdAt: new Date(l.createdAt).toISOString(),
      createdBy: l.createdBy,
      state: linkState(l),
    }));
  }
}

export interface RevokeInvitationCommand {
  readonly actor: Actor;
  readonly tenantId: string;
  readonly id: string;
}

export class RevokeInvitation {
  constructor(private readonly deps: CredentialsDeps) {}

  async execute({ actor, tenantId, id }: RevokeInvitationCommand) {
    const l = await this.deps.repos.oneTimeLinks.revokeInvitation(tenantId, id);
    if (!l) throw new DomainError(ErrorCode.InvitationNotFound, 'no pending invitation with this id');
    await this.deps.audit.append(tenantId, {
      actor,
      action: 'invitation.revoked',
      target: `invitation:${id}`,
      outcome: 'success',
      details: { email: l.email },
    });
  }
}

export interface DescribeInvitationCommand {
  readonly token: string;
}

/** Public: what a live invitation is for (the accept page shows it before the invitee picks a password). */
export class DescribeInvitation {
  constructor(private readonly deps: CredentialsDeps) {}

  async execute({ token }: DescribeInvitationCommand) {
    const l = await this.deps.repos.oneTimeLinks.findLive(tokenHash(token, ErrorCode.InvitationNotFound), 'invitation');
    if (!l)
      throw new DomainError(
        ErrorCode.InvitationNotFound,
        'this invitation is not valid (used, revoked, expired or mistyped)',
      );
    const t = await this.deps.repos.tenants.findById(l.tenantId);
    return {
      tenantId: l.tenantId,
      tenantName: t?.name ?? '',
      email: l.email,
      role: l.role as AdminRole,
      expiresAt: new Date(l.expiresAt).toISOString(),
    };
  }
}

export interface AcceptInvitationCommand {
  readonly token: string;
  readonly password: string;
}

/** Public: the invitee sets their own password; the invitation is consumed in the same transaction. */
export class AcceptInvitation {
  constructor(private readonly deps: CredentialsDeps) {}

  async execute(input: AcceptInvitationCommand) {
    const hash = tokenHash(input.token, ErrorCode.InvitationNotFound);
    const live = await this.deps.repos.oneTimeLinks.findLive(hash, 'invitation');
    if (!live)
      throw new DomainError(
        ErrorCode.InvitationNotFound,
        'this invitation is not valid (used, revoked, expired or mistyped)',
      );
    assertStrong(input.password, live.email);
    const passwordHash = await hashSecret(input.password);
    const userId = randomUUID();
    const link = await this.deps.repos.ds.transaction(async (m) => {
      const l = await this.deps.repos.oneTimeLinks.consume(m, hash, 'invitation');
      if (!l)
        throw new DomainError(
          ErrorCode.InvitationNotFound,
          'this invitation is not valid (used, revoked, expired or mistyped)',
        );
      try {
        await this.deps.repos.adminAccounts.insert(m, l.tenantId, {
          id: userId,
          email: l.email,
          passwordHash,
          role: l.role as AdminRole,
        });
      } catch (err) {
        if (pgCode(err) === '23505')
          throw new DomainError(ErrorCode.AccountExists, 'an admin user with this email already exists');
        throw err;
      }
      return l;
    });
    await this.deps.audit.append(link.tenantId, {
      actor: `admin:${userId}`,
      action: 'invitation.accepted',
      target: `admin_user:${userId}`,
      outcome: 'success',
      details: { invitationId: link.id, email: link.email, role: link.role, invitedBy: link.createdBy },
    });
    return { tenantId: link.tenantId, userId, email: link.email, role: link.role as AdminRole };
  }
}

export interface ChangePasswordCommand {
  readonly tenantId: string;
  readonly userId: string;
  readonly input: { readonly currentPassword: string; readonly newPassword: string };
}

/** Signed in: a new password needs the current one; every session of the user ends (sign in again). */
export class ChangePassword {
  constructor(private readonly deps: CredentialsDeps) {}

  async execute({ tenantId, userId, input }: ChangePasswordCommand) {
    const u = await this.deps.repos.adminAccounts.find(tenantId, userId);
    if (!u || u.disabled) throw new DomainError(ErrorCode.AdminUserNotFound, 'admin user not found');
    if (!(await verifySecret(input.currentPassword, u.passwordHash)))
      throw new DomainError(ErrorCode.InvalidCurrentPassword, 'the current password is not right');
    assertStrong(input.newPassword, u.email);
    const gen = await this.deps.repos.ds.transaction(async (m) => {
      const g = await this.deps.repos.adminAccounts.setPassword(
        m,
        tenantId,
        userId,
        await hashSecret(input.newPassword),
      );
      await this.deps.repos.oneTimeLinks.revokeResets(m, tenantId, userId);
      return g;
    });
    await this.deps.sessions.revoked(userId, gen);
    await this.deps.audit.append(tenantId, {
      actor: `admin:${userId}`,
      action: 'admin_user.password_changed',
      target: `admin_user:${userId}`,
      outcome: 'success',
      details: {},
    });
  }
}

export interface RequestPasswordResetCommand {
  readonly tenantId: string;
  readonly email: string;
}

/**
 * Public: "forgot my password". The answer is sent before anything is looked up, so it is the same — body, status
 * and time — whether or not the account exists; the lookup, the link and the mail happen afterwards. One link per
 * user per minute at most (no mail bombing); a new link voids the previous ones.
 */
export class RequestPasswordReset {
  constructor(private readonly deps: CredentialsDeps) {}

  execute(input: RequestPasswordResetCommand): void {
    setImmediate(() => void this.run(input).catch((err: unknown) => this.deps.onBackgroundError(err)));
  }

  private async run(input: RequestPasswordResetCommand): Promise<void> {
    const tenantId = input.tenantId.trim().toLowerCase();
    if (!isUuid(tenantId)) return;
    const user = await this.deps.repos.adminUsers.findByEmail(tenantId, normalizeEmail(input.email));
    if (!user || user.disabled) return;
    const { token, hash } = newOneTimeToken();
    const sent = await this.deps.repos.ds.transaction(async (m) => {
      const recent: unknown[] = await m.query(
        `SELECT 1 FROM one_time_links WHERE tenant_id = $1 AND admin_user_id = $2 AND kind = 'password_reset' AND created_at > now() - interval '60 seconds'`,
        [tenantId, user.id],
      );
      if (recent.length) return null;
      await this.deps.repos.oneTimeLinks.revokeResets(m, tenantId, user.id);
      const link = await this.deps.repos.oneTimeLinks.insert(m, {
        id: randomUUID(),
        tenantId,
        kind: 'password_reset',
        email: user.email,
        role: null,
        adminUserId: user.id,
        tokenHash: hash,
        createdBy: 'self-service',
        expiresAt: new Date(Date.now() + this.deps.passwordResetTtlSeconds * 1000),
      });
      const url = `${this.deps.consoleUrl}/#/reset-password/${token}`;
      await this.deps.mail.send({
        to: user.email,
        kind: 'password_reset',
        subject: 'Reset your Keyhold password',
        text: `Someone asked to reset your Keyhold password. If it was you, choose a new one here (valid until ${link.expiresAt.toISOString()}, usable once):\n${url}\nIf it was not you, ignore this message.\n`,
        link: url,
      });
      return link;
    });
    if (sent)
      await this.deps.audit.append(tenantId, {
        actor: 'self-service',
        action: 'admin_user.password_reset_requested',
        target: `admin_user:${user.id}`,
        outcome: 'success',
        details: {},
      });
  }
}

export interface CompletePasswordResetCommand {
  readonly token: string;
  readonly password: string;
}

/** Public: a reset link sets a new password once; every session of the user ends. */
export class CompletePasswordReset {
  constructor(private readonly deps: CredentialsDeps) {}

  async execute(input: CompletePasswordResetCommand) {
    const hash = tokenHash(input.token, ErrorCode.ResetLinkNotFound);
    const live = await this.deps.repos.oneTimeLinks.findLive(hash, 'password_reset');
    if (!live || !live.adminUserId)
      throw new DomainError(ErrorCode.ResetLinkNotFound, 'this link is not valid (used, revoked, expired or mistyped)');
    assertStrong(input.password, live.email);
    const passwordHash = await hashSecret(input.password);
    const { link, gen } = await this.deps.repos.ds.transaction(async (m) => {
      const l = await this.deps.repos.oneTimeLinks.consume(m, hash, 'password_reset');
      if (!l || !l.adminUserId)
        throw new DomainError(
          ErrorCode.ResetLinkNotFound,
          'this link is not valid (used, revoked, expired or mistyped)',
        );
      const g = await this.deps.repos.adminAccounts.setPassword(m, l.tenantId, l.adminUserId, passwordHash);
      if (g === null)
        throw new DomainError(
          ErrorCode.ResetLinkNotFound,
          'this link is not valid (used, revoked, expired or mistyped)',
        );
      return { link: l, gen: g };
    });
    await this.deps.sessions.revoked(link.adminUserId!, gen);
    await this.deps.audit.append(link.tenantId, {
      actor: `admin:${link.adminUserId}`,
      action: 'admin_user.password_reset',
      target: `admin_user:${link.adminUserId}`,
      outcome: 'success',
      details: {},
    });
  }
}

export interface ListAdminUsersCommand {
  readonly tenantId: string;
}

export class ListAdminUsers {
  constructor(private readonly deps: CredentialsDeps) {}

  execute({ tenantId }: ListAdminUsersCommand) {
    return this.deps.repos.adminAccounts.list(tenantId);
  }
}

export interface UpdateAdminUserCommand {
  readonly actor: Actor;
  readonly tenantId: string;
  readonly id: string;
  readonly change: { readonly role?: AdminRole; readonly disabled?: boolean };
}

/** Role change and/or disable/enable; the user's sessions end at once on every replica. */
export class UpdateAdminUser {
  constructor(private readonly deps: CredentialsDeps) {}

  async execute({ actor, tenantId, id, change }: UpdateAdminUserCommand) {
    let r;
    try {
      r = await this.deps.repos.adminAccounts.update(tenantId, id, change);
    } catch (err) {
      if (err instanceof LastKeyAdminError)
        throw new DomainError(ErrorCode.LastKeyAdmin, 'the tenant must keep at least one enabled key admin');
      throw err;
    }
    if (!r) throw new DomainError(ErrorCode.AdminUserNotFound, 'admin user not found');
    await this.deps.sessions.revoked(id, r.disabled ? null : r.generation);
    const audit = (action: string, details: Record<string, unknown>) =>
      this.deps.audit.append(tenantId, {
        actor,
        action,
        target: `admin_user:${id}`,
        outcome: 'success',
        details: { email: r.email, ...details },
      });
    if (change.role !== undefined && change.role !== r.before.role)
      await audit('admin_user.role_changed', { from: r.before.role, to: r.role });
    if (change.disabled !== undefined && change.disabled !== r.before.disabled)
      await audit(r.disabled ? 'admin_user.disabled' : 'admin_user.enabled', {});
    return { id: r.id, email: r.email, role: r.role, disabled: r.disabled, createdAt: r.createdAt };
  }
}

export interface DeleteAdminUserCommand {
  readonly actor: Actor;
  readonly tenantId: string;
  readonly id: string;
}

export class DeleteAdminUser {
  constructor(private readonly deps: CredentialsDeps) {}

  async execute({ actor, tenantId, id }: DeleteAdminUserCommand) {
    let r;
    try {
      r = await this.deps.repos.adminAccounts.delete(tenantId, id);
    } catch (err) {
      if (err instanceof LastKeyAdminError)
        throw new DomainError(ErrorCode.LastKeyAdmin, 'the tenant must keep at least one enabled key admin');
      throw err;
    }
    if (!r) throw new DomainError(ErrorCode.AdminUserNotFound, 'admin user not found');
    await this.deps.sessions.revoked(id, null);
    await this.deps.audit.append(tenantId, {
      actor,
      action: 'admin_user.deleted',
      target: `admin_user:${id}`,
      outcome: 'success',
      details: { email: r.email, role: r.role },
    });
  }
}

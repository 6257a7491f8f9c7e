import { Body, Controller, Delete, Get, HttpCode, Ip, Param, Patch, Post } from '@nestjs/common';
import { PASSWORD_MAX_LENGTH, type AccessClaims, TokenService } from '@app/auth';
import {
  ErrorCode,
  AcceptInvitation,
  ChangePassword,
  CompletePasswordReset,
  CreateInvitation,
  DeleteAdminUser,
  DescribeInvitation,
  ListAdminUsers,
  ListInvitations,
  RequestPasswordReset,
  RevokeInvitation,
  UpdateAdminUser,
} from '@app/keys';
import { z } from 'zod';
import { actorOf, AdminRoute, Claims } from '../auth';
import { parseBody, pathId } from '../validation';

const email = z.string().trim().max(254).email();
const role = z.enum(['key_admin', 'auditor']);
// Strength is judged by the use case (it knows the account's email); here only the type and an upper bound.
const newPassword = z.string().min(1).max(PASSWORD_MAX_LENGTH);
const token = z.string().min(1).max(128);

export const credentialSchemas = {
  invitation: z.object({ email, role }).strict(),
  acceptInvitation: z.object({ token, password: newPassword }).strict(),
  describeInvitation: z.object({ token }).strict(),
  changePassword: z.object({ currentPassword: z.string().min(1).max(PASSWORD_MAX_LENGTH), newPassword }).strict(),
  requestReset: z.object({ tenant_id: z.string().min(1).max(64), email: z.string().min(1).max(254) }).strict(),
  completeReset: z.object({ token, password: newPassword }).strict(),
  updateAdminUser: z
    .object({ role: role.optional(), disabled: z.boolean().optional() })
    .strict()
    .refine((b) => b.role !== undefined || b.disabled !== undefined, 'give role and/or disabled'),
};

/**
 * Tenant admin users and invitations (key admins manage; auditors may read the user list), the signed-in user's
 * own password. Every change revokes the affected user's sessions on every replica.
 */
@Controller('v1/tenants/:tenantId')
export class AdminUsersController {
  constructor(
    private readonly listAdminUsersUseCase: ListAdminUsers,
    private readonly updateAdminUserUseCase: UpdateAdminUser,
    private readonly deleteAdminUserUseCase: DeleteAdminUser,
    private readonly createInvitationUseCase: CreateInvitation,
    private readonly listInvitationsUseCase: ListInvitations,
    private readonly revokeInvitationUseCase: RevokeInvitation,
    private readonly changePasswordUseCase: ChangePassword,
  ) {}

  @Get('admin-users')
  @AdminRoute('key_admin', 'auditor')
  async list(@Claims() c: AccessClaims) {
    return { adminUsers: await this.listAdminUsersUseCase.execute({ tenantId: c.tid }) };
  }

  @Patch('admin-users/:id')
  @AdminRoute('key_admin')
  update(@Claims() c: AccessClaims, @Param('id') id: string, @Body() body: unknown) {
    return this.updateAdminUserUseCase.execute({
      actor: actorOf(c),
      tenantId: c.tid,
      id: pathId(id, ErrorCode.AdminUserNotFound),
      change: parseBody(credentialSchemas.updateAdminUser, body),
    });
  }

  @Delete('admin-users/:id')
  @HttpCode(204)
  @AdminRoute('key_admin')
  async remove(@Claims() c: AccessClaims, @Param('id') id: string) {
    await this.deleteAdminUserUseCase.execute({
      actor: actorOf(c),
      tenantId: c.tid,
      id: pathId(id, ErrorCode.AdminUserNotFound),
    });
  }

  @Post('invitations')
  @HttpCode(201)
  @AdminRoute('key_admin')
  invite(@Claims() c: AccessClaims, @Body() body: unknown) {
    return this.createInvitationUseCase.execute({
      actor: actorOf(c),
      tenantId: c.tid,
      input: parseBody(credentialSchemas.invitation, body),
    });
  }

  @Get('invitations')
  @AdminRoute('key_admin')
  async invitations(@Claims() c: AccessClaims) {
    return { invitations: await this.listInvitationsUseCase.execute({ tenantId: c.tid }) };
  }

  @Delete('invitations/:id')
  @HttpCode(204)
  @AdminRoute('key_admin')
  async revokeInvitation(@Claims() c: AccessClaims, @Param('id') id: string) {
    await this.revokeInvitationUseCase.execute({
      actor: actorOf(c),
      tenantId: c.tid,
      id: pathId(id, ErrorCode.InvitationNotFound),
    });
  }

  @Post('me/password')
  @HttpCode(204)
  @AdminRoute('key_admin', 'auditor')
  async changePassword(@Claims() c: AccessClaims, @Body() body: unknown) {
    await this.changePasswordUseCase.execute({
      tenantId: c.tid,
      userId: c.sub,
      input: parseBody(credentialSchemas.changePassword, body),
    });
  }
}

/**
 * Public one-time-link routes: the token travels in the body (never in a URL, so it stays out of access logs) and
 * is the only credential. Unknown, used, revoked and expired tokens are one 404.
 */
@Controller('v1')
export class OneTimeLinksController {
  constructor(
    private readonly describeInvitationUseCase: DescribeInvitation,
    private readonly acceptInvitationUseCase: AcceptInvitation,
    private readonly requestPasswordResetUseCase: RequestPasswordReset,
    private readonly completePasswordResetUseCase: CompletePasswordReset,
    private readonly tokens: TokenService,
  ) {}

  @Post('invitations/lookup')
  @HttpCode(200)
  async describe(@Body() body: unknown, @Ip() ip: string) {
    await this.tokens.throttle.address(ip);
    const { token } = parseBody(credentialSchemas.describeInvitation, body);
    return this.describeInvitationUseCase.execute({ token });
  }

  @Post('invitations/accept')
  @HttpCode(201)
  async accept(@Body() body: unknown, @Ip() ip: string) {
    await this.tokens.throttle.address(ip);
    return this.acceptInvitationUseCase.execute(parseBody(credentialSchemas.acceptInvitation, body));
  }

  @Post('password-resets')
  @HttpCode(202)
  async requestReset(@Body() body: unknown, @Ip() ip: string) {
    const b = parseBody(credentialSchemas.requestReset, body);
    await this.tokens.throttle.address(ip);
    this.requestPasswordResetUseCase.execute({ tenantId: b.tenant_id, email: b.email });
    return { status: 'accepted', message: 'if this account exists, a reset link has been sent to its email address' };
  }

  @Post('password-resets/complete')
  @HttpCode(204)
  async completeReset(@Body() body: unknown, @Ip() ip: string) {
    await this.tokens.throttle.address(ip);
    await this.completePasswordResetUseCase.execute(parseBody(credentialSchemas.completeReset, body));
  }
}

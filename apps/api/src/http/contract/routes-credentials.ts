import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { path, routes } from './kit';
import {
  AcceptInvitation,
  ChangePassword,
  CompletePasswordReset,
  CreateInvitation,
  OneTimeToken,
  PasswordResetRequest,
  UpdateAdminUser,
} from './requests';
import {
  AcceptedInvitation,
  AdminUser,
  AdminUserList,
  Invitation,
  InvitationDetails,
  InvitationList,
} from './responses';

const TEXT_credentials = {
  400: 'malformed or invalid request (code names the problem, e.g. PASSWORD_TOO_WEAK)',
  401: 'missing, invalid or revoked token',
  403: 'role not allowed (separation of duties)',
  404: 'not found (also: another tenant, malformed id; for links: used, revoked, expired or mistyped)',
  409: 'conflict (ACCOUNT_EXISTS, INVITATION_PENDING, LAST_KEY_ADMIN)',
  415: 'body must be application/json',
  429: 'too many requests from this address (Retry-After)',
  503: 'the invitation email could not be handed to the mail transport (MAIL_UNAVAILABLE); nothing was created',
};

export function credentialsRoutes(registry: OpenAPIRegistry): void {
  const route = routes(registry, TEXT_credentials);
  route('get', '/v1/tenants/{tenantId}/admin-users', {
    id: 'listAdminUsers',
    summary: 'List admin users (never a password hash)',
    access: 'readers',
    params: path('tenantId'),
    ok: [200, AdminUserList],
    errors: [401, 403, 404],
  });
  route('patch', '/v1/tenants/{tenantId}/admin-users/{id}', {
    id: 'updateAdminUser',
    summary: "Change a user's role and/or disable or enable them; their sessions end at once on every replica",
    access: 'key_admin',
    params: path('tenantId', 'id'),
    body: UpdateAdminUser,
    ok: [200, AdminUser],
    errors: [400, 401, 403, 404, 409, 415],
  });
  route('delete', '/v1/tenants/{tenantId}/admin-users/{id}', {
    id: 'deleteAdminUser',
    summary: 'Delete a user (never the last enabled key admin); their sessions end at once',
    access: 'key_admin',
    params: path('tenantId', 'id'),
    ok: [204, null],
    errors: [401, 403, 404, 409],
  });
  route('post', '/v1/tenants/{tenantId}/invitations', {
    id: 'createInvitation',
    summary: 'Invite a key admin or auditor: the one-time link is emailed to them, never returned',
    access: 'key_admin',
    params: path('tenantId'),
    body: CreateInvitation,
    ok: [201, Invitation],
    errors: [400, 401, 403, 404, 409, 415, 503],
  });
  route('get', '/v1/tenants/{tenantId}/invitations', {
    id: 'listInvitations',
    summary: 'Invitations with their state (pending, accepted, revoked, expired)',
    access: 'key_admin',
    params: path('tenantId'),
    ok: [200, InvitationList],
    errors: [401, 403, 404],
  });
  route('delete', '/v1/tenants/{tenantId}/invitations/{id}', {
    id: 'revokeInvitation',
    summary: 'Revoke a pending invitation',
    access: 'key_admin',
    params: path('tenantId', 'id'),
    ok: [204, null],
    errors: [401, 403, 404],
  });
  route('post', '/v1/tenants/{tenantId}/me/password', {
    id: 'changePassword',
    summary: 'Change your own password (needs the current one); all your sessions end',
    access: 'readers',
    params: path('tenantId'),
    body: ChangePassword,
    ok: [204, null],
    errors: [400, 401, 404, 415],
  });
  route('post', '/v1/invitations/lookup', {
    id: 'describeInvitation',
    summary: 'What a live invitation is for (tenant, email, role, expiry)',
    access: 'public',
    body: OneTimeToken,
    ok: [200, InvitationDetails],
    errors: [400, 404, 415, 429],
  });
  route('post', '/v1/invitations/accept', {
    id: 'acceptInvitation',
    summary: 'Accept an invitation: set your own password (the link is then used up)',
    access: 'public',
    body: AcceptInvitation,
    ok: [201, AcceptedInvitation],
    errors: [400, 404, 409, 415, 429],
  });
  route('post', '/v1/password-resets', {
    id: 'requestPasswordReset',
    summary: 'Email a one-time reset link; the same 202 whether or not the account exists',
    access: 'public',
    body: PasswordResetRequest,
    ok: [202, z.record(z.unknown())],
    errors: [400, 415, 429],
  });
  route('post', '/v1/password-resets/complete', {
    id: 'completePasswordReset',
    summary: 'Set a new password with a reset link; all sessions of the user end',
    access: 'public',
    body: CompletePasswordReset,
    ok: [204, null],
    errors: [400, 404, 415, 429],
  });
}

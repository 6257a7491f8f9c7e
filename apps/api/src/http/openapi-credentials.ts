/**
 * OpenAPI paths and schemas of the credential routes (invitations, admin users, passwords), spread into the
 * document by openapi.ts.
 */
import { type Schema, err, idParam, operations, ref, str, tenantParam, uuid } from './openapi-kit';

const role = { enum: ['key_admin', 'auditor'] };

const E = {
  400: err('malformed or invalid request (code names the problem, e.g. PASSWORD_TOO_WEAK)'),
  401: err('missing, invalid or revoked token'),
  403: err('role not allowed (separation of duties)'),
  404: err('not found (also: another tenant, malformed id; for links: used, revoked, expired or mistyped)'),
  409: err('conflict (ACCOUNT_EXISTS, INVITATION_PENDING, LAST_KEY_ADMIN)'),
  415: err('body must be application/json'),
  429: err('too many requests from this address (Retry-After)'),
  503: err('the invitation email could not be handed to the mail transport (MAIL_UNAVAILABLE); nothing was created'),
};

const op = operations(E);

const KEY_ADMIN = ['key_admin'];
const READERS = ['key_admin', 'auditor'];

export const credentialPaths = {
  '/v1/tenants/{tenantId}/admin-users': {
    get: op({ id: 'listAdminUsers', summary: 'List admin users (never a password hash)', roles: READERS, params: [tenantParam], ok: [200, ref('AdminUserList')], errors: [401, 403, 404] }),
  },
  '/v1/tenants/{tenantId}/admin-users/{id}': {
    patch: op({
      id: 'updateAdminUser',
      summary: "Change a user's role and/or disable or enable them; their sessions end at once on every replica",
      roles: KEY_ADMIN,
      params: [tenantParam, idParam],
      body: ref('UpdateAdminUser'),
      ok: [200, ref('AdminUser')],
      errors: [400, 401, 403, 404, 409, 415],
    }),
    delete: op({ id: 'deleteAdminUser', summary: 'Delete a user (never the last enabled key admin); their sessions end at once', roles: KEY_ADMIN, params: [tenantParam, idParam], ok: [204, null], errors: [401, 403, 404, 409] }),
  },
  '/v1/tenants/{tenantId}/invitations': {
    post: op({ id: 'createInvitation', summary: 'Invite a key admin or auditor: the one-time link is emailed to them, never returned', roles: KEY_ADMIN, params: [tenantParam], body: ref('CreateInvitation'), ok: [201, ref('Invitation')], errors: [400, 401, 403, 404, 409, 415, 503] }),
    get: op({ id: 'listInvitations', summary: 'Invitations with their state (pending, accepted, revoked, expired)', roles: KEY_ADMIN, params: [tenantParam], ok: [200, ref('InvitationList')], errors: [401, 403, 404] }),
  },
  '/v1/tenants/{tenantId}/invitations/{id}': {
    delete: op({ id: 'revokeInvitation', summary: 'Revoke a pending invitation', roles: KEY_ADMIN, params: [tenantParam, idParam], ok: [204, null], errors: [401, 403, 404] }),
  },
  '/v1/tenants/{tenantId}/me/password': {
    post: op({ id: 'changePassword', summary: 'Change your own password (needs the current one); all your sessions end', roles: READERS, params: [tenantParam], body: ref('ChangePassword'), ok: [204, null], errors: [400, 401, 404, 415] }),
  },
  '/v1/invitations/lookup': {
    post: op({ id: 'describeInvitation', summary: 'What a live invitation is for (tenant, email, role, expiry)', body: ref('OneTimeToken'), ok: [200, ref('InvitationDetails')], errors: [400, 404, 415, 429] }),
  },
  '/v1/invitations/accept': {
    post: op({ id: 'acceptInvitation', summary: 'Accept an invitation: set your own password (the link is then used up)', body: ref('AcceptInvitation'), ok: [201, ref('AcceptedInvitation')], errors: [400, 404, 409, 415, 429] }),
  },
  '/v1/password-resets': {
    post: op({ id: 'requestPasswordReset', summary: 'Email a one-time reset link; the same 202 whether or not the account exists', body: ref('PasswordResetRequest'), ok: [202, { type: 'object' }], errors: [400, 415, 429] }),
  },
  '/v1/password-resets/complete': {
    post: op({ id: 'completePasswordReset', summary: 'Set a new password with a reset link; all sessions of the user end', body: ref('AcceptInvitation'), ok: [204, null], errors: [400, 404, 415, 429] }),
  },
};

const invitation = { id: uuid, email: str, role, expiresAt: { type: 'string', format: 'date-time' } };

export const credentialSchemas: Record<string, Schema> = {
  AdminUser: { type: 'object', required: ['id', 'email', 'role', 'disabled'], properties: { id: uuid, email: str, role, disabled: { type: 'boolean' }, createdAt: { type: 'string', format: 'date-time' } } },
  AdminUserList: { type: 'object', required: ['adminUsers'], properties: { adminUsers: { type: 'array', items: ref('AdminUser') } } },
  UpdateAdminUser: { type: 'object', minProperties: 1, additionalProperties: false, properties: { role, disabled: { type: 'boolean' } } },
  CreateInvitation: { type: 'object', required: ['email', 'role'], additionalProperties: false, properties: { email: { type: 'string', format: 'email' }, role } },
  Invitation: { type: 'object', required: ['id', 'email', 'role', 'expiresAt'], additionalProperties: false, properties: invitation },
  InvitationList: {
    type: 'object',
    required: ['invitations'],
    properties: {
      invitations: {
        type: 'array',
        items: { type: 'object', properties: { ...invitation, createdAt: { type: 'string', format: 'date-time' }, createdBy: str, state: { enum: ['pending', 'accepted', 'revoked', 'expired'] } } },
      },
    },
  },
  OneTimeToken: { type: 'object', required: ['token'], additionalProperties: false, properties: { token: str } },
  InvitationDetails: { type: 'object', properties: { tenantId: uuid, tenantName: str, email: str, role, expiresAt: { type: 'string', format: 'date-time' } } },
  AcceptInvitation: {
    type: 'object',
    required: ['token', 'password'],
    additionalProperties: false,
    properties: { token: str, password: { type: 'string', minLength: 12, maxLength: 1024, description: 'at least 12 characters, not common, not containing the email' } },
  },
  AcceptedInvitation: { type: 'object', properties: { tenantId: uuid, userId: uuid, email: str, role } },
  ChangePassword: { type: 'object', required: ['currentPassword', 'newPassword'], additionalProperties: false, properties: { currentPassword: str, newPassword: { type: 'string', minLength: 12 } } },
  PasswordResetRequest: { type: 'object', required: ['tenant_id', 'email'], additionalProperties: false, properties: { tenant_id: uuid, email: str } },
};

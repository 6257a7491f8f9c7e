import { randomBytes, randomUUID } from 'node:crypto';
import { evaluate, MalformedPolicyError, parsePolicy } from './policy';
import { AwsState, callerAccount, callerArn, guardDeny, IamRole, identityOf, Principal } from './state';

/**
 * STS and IAM over the AWS query protocol: form-encoded `Action=...&Version=...`, XML answers, errors as
 * `ErrorResponse/Error{Type, Code, Message}` (the SDK picks the exception by Code).
 */

export class QueryError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly type: 'Sender' | 'Receiver' = status >= 500 ? 'Receiver' : 'Sender',
  ) {
    super(message);
  }
}

export const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
export const IAM_NS = 'https://iam.amazonaws.com/doc/2010-05-08/';

export function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

/** Renders a plain object as XML elements (strings escaped; arrays as <member>). */
function toXml(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.map((x) => `<member>${toXml(x)}</member>`).join('');
  if (typeof v === 'object')
    return Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => `<${k}>${toXml(x)}</${k}>`)
      .join('');
  return xmlEscape(String(v));
}

export function queryResponse(ns: string, action: string, result: Record<string, unknown> | null): string {
  const inner = result === null ? '' : `<${action}Result>${toXml(result)}</${action}Result>`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${ns}">${inner}<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`;
}

export function queryError(ns: string, err: QueryError): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="${ns}"><Error><Type>${err.type}</Type><Code>${xmlEscape(err.code)}</Code><Message>${xmlEscape(err.message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function param(p: URLSearchParams, name: string, required: true): string;
function param(p: URLSearchParams, name: string, required?: false): string | undefined;
function param(p: URLSearchParams, name: string, required = false): string | undefined {
  const v = p.get(name);
  if (v === null) {
    if (required)
      throw new QueryError(
        'ValidationError',
        `1 validation error detected: Value null at '${name.charAt(0).toLowerCase() + name.slice(1)}' failed to satisfy constraint: Member must not be null`,
        400,
      );
    return undefined;
  }
  return v;
}

function randomId(prefix: string, n = 17): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = randomBytes(n);
  return prefix + [...bytes].map((b) => alphabet[b % 32]).join('');
}

function policyOrThrow(text: string, requirePrincipal: boolean, code = 'MalformedPolicyDocument'): void {
  try {
    parsePolicy(text, { requirePrincipal });
  } catch (err) {
    if (err instanceof MalformedPolicyError) throw new QueryError(code, err.message, 400);
    throw err;
  }
}

const ROLE_ARN_RE = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role\/(?:[\u0021-\u007e]*\/)?([\w+=,.@-]{1,64})$/;

export interface QueryRequest {
  state: AwsState;
  principal: Principal;
  params: URLSearchParams;
  now: number;
}

// ---------------------------------------------------------------- STS

/**
 * AssumeRole, as STS decides it: the role's trust policy must allow the caller for sts:AssumeRole with the
 * request's condition context (sts:ExternalId when sent). A trust policy naming the caller's account root
 * delegates to that account's IAM; the emulator models vendor users and account roots as holding that
 * permission, and role sessions as holding it only through an inline policy of their role.
 */
function assumeRole(r: QueryRequest): Record<string, unknown> {
  const roleArn = param(r.params, 'RoleArn', true);
  const sessionName = param(r.params, 'RoleSessionName', true);
  const externalId = param(r.params, 'ExternalId');
  const policy = param(r.params, 'Policy');
  const durationRaw = param(r.params, 'DurationSeconds');
  if (sessionName.length < 2 || sessionName.length > 64)
    throw new QueryError(
      'ValidationError',
      "1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint: Member must have length between 2 and 64",
      400,
    );
  if (!/^[\w+=,.@-]+$/.test(sessionName))
    throw new QueryError(
      'ValidationError',
      `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`,
      400,
    );
  if (externalId !== undefined && !/^[\w+=,.@:/-]{2,1224}$/.test(externalId))
    throw new QueryError(
      'ValidationError',
      "1 validation error detected: Value at 'externalId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*",
      400,
    );
  const m = ROLE_ARN_RE.exec(roleArn);
  if (!m) throw new QueryError('ValidationError', `${roleArn} is invalid`, 400);
  const caller = identityOf(r.principal);
  const denied = (): never => {
    throw new QueryError(
      'AccessDenied',
      `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
      403,
    );
  };
  // The caller's own side first: an SCP of its account or a Deny in its identity policies refuses the call whatever
  // the target role's trust policy says (the vendor's security team can break Keyhold's access this way).
  const guard = guardDeny(r.state, r.principal, 'sts:AssumeRole', roleArn);
  if (guard)
    throw new QueryError(
      'AccessDenied',
      `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn} with an explicit deny in ${guard}`,
      403,
    );
  const role = r.state.roles.find((x) => x.arn === roleArn) ?? denied();
  const duration = durationRaw === undefined ? 3600 : Number(durationRaw);
  if (!Number.isInteger(duration) || duration < 900)
    throw new QueryError(
      'ValidationError',
      "1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
      400,
    );
  if (duration > role.maxSessionDuration)
    throw new QueryError(
      'ValidationError',
      'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
      400,
    );
  if (policy !== undefined) {
    if (policy.length > 2048)
      throw new QueryError(
        'PackedPolicyTooLarge',
        'Packed policy consumes more than 100 percent of the allotted space.',
        400,
      );
    policyOrThrow(policy, false);
  }

  const trust = (() => {
    try {
      return parsePolicy(role.trustPolicy, { requirePrincipal: true });
    } catch {
      return undefined;
    }
  })();
  const context: Record<string, string | undefined> = {
    'sts:ExternalId': externalId,
    'aws:PrincipalArn': caller.roleArn ?? caller.arn,
    'aws:PrincipalAccount': caller.accountId,
  };
  const d = evaluate(trust, { action: 'sts:AssumeRole', resource: role.arn, caller, context });
  if (d === 'deny' || d === 'none') denied();
  if (d === 'account' && r.principal.kind === 'session') {
    const ownRole = r.state.roles.find(
      (x) => x.arn === (r.principal as { session: { roleArn: string } }).session.roleArn,
    );
    const idAllows = Object.values(ownRole?.inlinePolicies ?? {}).some((t) => {
      try {
        return (
          evaluate(parsePolicy(t, { requirePrincipal: false }), { action: 'sts:AssumeRole', resource: role.arn }) ===
          'allow'
        );
      } catch {
        return false;
      }
    });
    if (!idAllows) denied();
  }

  const expiresAt = r.now + duration * 1000;
  const session = {
    accessKeyId: randomId('ASIA', 16),
    secretAccessKey: randomBytes(30).toString('base64'),
    sessionToken: randomBytes(96).toString('base64'),
    roleArn: role.arn,
    roleId: role.roleId,
    sessionArn: `arn:aws:sts::${role.accountId}:assumed-role/${role.name}/${sessionName}`,
    accountId: role.accountId,
    ...(policy !== undefined ? { policy } : {}),
    expiresAt,
  };
  r.state.sessions = r.state.sessions.filter((s) => s.expiresAt > r.now);
  r.state.sessions.push(session);
  return {
    Credentials: {
      AccessKeyId: session.accessKeyId,
      SecretAccessKey: session.secretAccessKey,
      SessionToken: session.sessionToken,
      Expiration: isoSeconds(expiresAt),
    },
    AssumedRoleUser: { AssumedRoleId: `${role.roleId}:${sessionName}`, Arn: session.sessionArn },
    ...(policy !== undefined ? { PackedPolicySize: Math.ceil((policy.length * 100) / 2048) } : {}),
  };
}

function getCallerIdentity(r: QueryRequest): Record<string, unknown> {
  const p = r.principal;
  const userId = p.kind === 'key' ? p.key.userId : `${p.session.roleId}:${p.session.sessionArn.split('/').pop()}`;
  return { Arn: callerArn(p), UserId: userId, Account: callerAccount(p) };
}

export const STS_ACTIONS: Record<string, (r: QueryRequest) => Record<string, unknown>> = {
  AssumeRole: assumeRole,
  GetCallerIdentity: getCallerIdentity,
};

// ---------------------------------------------------------------- IAM

/** IAM management is the customer's own business: the account root and its IAM users may, sessions may not. */
function requireIamAdmin(r: QueryRequest, action: string, resource: string): void {
  if (r.principal.kind === 'key') return;
  const role = r.state.roles.find((x) => x.arn === (r.principal as { session: { roleArn: string } }).session.roleArn);
  const ok = Object.values(role?.inlinePolicies ?? {}).some((t) => {
    try {
      return evaluate(parsePolicy(t, { requirePrincipal: false }), { action, resource }) === 'allow';
    } catch {
      return false;
    }
  });
  if (!ok)
    throw new QueryError(
      'AccessDenied',
      `User: ${callerArn(r.principal)} is not authorized to perform: ${action} on resource: ${resource}`,
      403,
    );
}

function roleName(r: QueryRequest): string {
  const name = param(r.params, 'RoleName', true);
  if (!/^[\w+=,.@-]{1,64}$/.test(name))
    throw new QueryError(
      'ValidationError',
      `1 validation error detected: Value '${name}' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+`,
      400,
    );
  return name;
}

function findRole(r: QueryRequest, name: string): IamRole {
  const account = callerAccount(r.principal);
  const role = r.state.roles.find((x) => x.accountId === account && x.name === name);
  if (!role) throw new QueryError('NoSuchEntity', `The role with name ${name} cannot be found.`, 404);
  return role;
}

function roleXml(role: IamRole): Record<string, unknown> {
  return {
    Path: role.path,
    RoleName: role.name,
    RoleId: role.roleId,
    Arn: role.arn,
    CreateDate: isoSeconds(role.createDate),
    // IAM returns policy documents URL-encoded (RFC 3986).
    AssumeRolePolicyDocument: encodeURIComponent(role.trustPolicy),
    MaxSessionDuration: role.maxSessionDuration,
  };
}

function policyName(r: QueryRequest): string {
  const n = param(r.params, 'PolicyName', true);
  if (!/^[\w+=,.@-]{1,128}$/.test(n)) throw new QueryError('ValidationError', `PolicyName ${n} is not valid`, 400);
  return n;
}

export const IAM_ACTIONS: Record<string, (r: QueryRequest) => Record<string, unknown> | null> = {
  CreateRole(r) {
    const name = roleName(r);
    const path = param(r.params, 'Path') ?? '/';
    if (!/^\/(?:[\u0021-\u007e]{1,510}\/)?$/.test(path) || path.slice(1, -1).includes('//'))
      throw new QueryError('ValidationError', `Path ${path} is not valid: it must begin and end with /`, 400);
    const account = callerAccount(r.principal);
    const arn = `arn:aws:iam::${account}:role${path}${name}`;
    requireIamAdmin(r, 'iam:CreateRole', arn);
    const trust = param(r.params, 'AssumeRolePolicyDocument', true);
    policyOrThrow(trust, true);
    const maxRaw = param(r.params, 'MaxSessionDuration');
    const max = maxRaw === undefined ? 3600 : Number(maxRaw);
    if (!Number.isInteger(max) || max < 3600 || max > 43200)
      throw new QueryError('ValidationError', 'MaxSessionDuration must be between 3600 and 43200 seconds', 400);
    if (r.state.roles.some((x) => x.accountId === account && x.name.toLowerCase() === name.toLowerCase()))
      throw new QueryError('EntityAlreadyExists', `Role with name ${name} already exists.`, 409);
    const role: IamRole = {
      name,
      path,
      arn,
      roleId: randomId('AROA', 17),
      accountId: account,
      trustPolicy: trust,
      inlinePolicies: {},
      createDate: r.now,
      maxSessionDuration: max,
    };
    r.state.roles.push(role);
    return { Role: roleXml(role) };
  },

  GetRole(r) {
    const role = findRole(r, roleName(r));
    requireIamAdmin(r, 'iam:GetRole', role.arn);
    return { Role: roleXml(role) };
  },

  DeleteRole(r) {
    const role = findRole(r, roleName(r));
    requireIamAdmin(r, 'iam:DeleteRole', role.arn);
    if (Object.keys(role.inlinePolicies).length > 0)
      throw new QueryError('DeleteConflict', 'Cannot delete entity, must delete policies first.', 409);
    r.state.roles = r.state.roles.filter((x) => x !== role);
    return null;
  },

  UpdateAssumeRolePolicy(r) {
    const role = findRole(r, roleName(r));
    requireIamAdmin(r, 'iam:UpdateAssumeRolePolicy', role.arn);
    const doc = param(r.params, 'PolicyDocument', true);
    policyOrThrow(doc, true);
    role.trustPolicy = doc;
    return null;
  },

  PutRolePolicy(r) {
    const role = findRole(r, roleName(r));
    requireIamAdmin(r, 'iam:PutRolePolicy', role.arn);
    const name = policyName(r);
    const doc = param(r.params, 'PolicyDocument', true);
    policyOrThrow(doc, false);
    role.inlinePolicies[name] = doc;
    return null;
  },

  GetRolePolicy(r) {
    const role = findRole(r, roleName(r));
    requireIamAdmin(r, 'iam:GetRolePolicy', role.arn);
    const name = policyName(r);
    const doc = role.inlinePolicies[name];
    if (doc === undefined)
      throw new QueryError('NoSuchEntity', `The role policy with name ${name} cannot be found.`, 404);
    return { RoleName: role.name, PolicyName: name, PolicyDocument: encodeURIComponent(doc) };
  },

  DeleteRolePolicy(r) {
    const role = findRole(r, roleName(r));
    requireIamAdmin(r, 'iam:DeleteRolePolicy', role.arn);
    const name = policyName(r);
    if (role.inlinePolicies[name] === undefined)
      throw new QueryError('NoSuchEntity', `The role policy with name ${name} cannot be found.`, 404);
    delete role.inlinePolicies[name];
    return null;
  },

  ListRolePolicies(r) {
    const role = findRole(r, roleName(r));
    requireIamAdmin(r, 'iam:ListRolePolicies', role.arn);
    return { PolicyNames: Object.keys(role.inlinePolicies), IsTruncated: false };
  },
};

export const QUERY_MUTATIONS = new Set([
  'AssumeRole',
  'CreateRole',
  'DeleteRole',
  'UpdateAssumeRolePolicy',
  'PutRolePolicy',
  'DeleteRolePolicy',
]);

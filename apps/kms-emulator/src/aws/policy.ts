/**
 * A faithful subset of IAM policy evaluation (IAM User Guide, "Policy evaluation logic"):
 * Effect Allow/Deny, Principal {AWS: ...} | "*", Action / Resource with `*` and `?` wildcards (actions match
 * case-insensitively), and Condition with StringEquals / StringLike / StringNotEquals (and their IfExists
 * forms). A condition key absent from the request context makes the condition false (so an Allow guarded by
 * `sts:ExternalId` refuses a request without ExternalId, as AWS does). Unsupported operators are false too:
 * unknown conditions never grant access.
 */

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: '*' | { AWS?: string | string[] };
  Action?: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  Version?: string;
  Id?: string;
  Statement: PolicyStatement[];
}

export class MalformedPolicyError extends Error {}

/** Parses and structurally validates a policy document; the message names what is wrong. */
export function parsePolicy(text: string, opts: { requirePrincipal: boolean }): PolicyDocument {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new MalformedPolicyError('The policy is not valid JSON.');
  }
  if (!doc || typeof doc !== 'object') throw new MalformedPolicyError('The policy must be a JSON object.');
  const raw = (doc as { Statement?: unknown }).Statement;
  const statements = Array.isArray(raw) ? raw : raw && typeof raw === 'object' ? [raw] : null;
  if (!statements || statements.length === 0) throw new MalformedPolicyError('The policy has no Statement.');
  for (const [i, s] of statements.entries()) {
    if (!s || typeof s !== 'object') throw new MalformedPolicyError(`Statement ${i} is not an object.`);
    const st = s as Record<string, unknown>;
    if (st.Effect !== 'Allow' && st.Effect !== 'Deny')
      throw new MalformedPolicyError(`Statement ${i}: Effect must be "Allow" or "Deny".`);
    if (!isStringOrList(st.Action)) throw new MalformedPolicyError(`Statement ${i}: Action must be a string or a list of strings.`);
    if (opts.requirePrincipal) {
      const p = st.Principal;
      const ok = p === '*' || (!!p && typeof p === 'object' && isStringOrList((p as { AWS?: unknown }).AWS));
      if (!ok) throw new MalformedPolicyError(`Statement ${i}: Principal must be "*" or {"AWS": ...}.`);
    }
    if (st.Resource !== undefined && !isStringOrList(st.Resource))
      throw new MalformedPolicyError(`Statement ${i}: Resource must be a string or a list of strings.`);
    if (st.Condition !== undefined && (typeof st.Condition !== 'object' || st.Condition === null))
      throw new MalformedPolicyError(`Statement ${i}: Condition must be an object.`);
  }
  return { ...(doc as PolicyDocument), Statement: statements as PolicyStatement[] };
}

function isStringOrList(v: unknown): v is string | string[] {
  return typeof v === 'string' || (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string'));
}

function list(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** IAM glob: `*` any run, `?` one character. */
export function globMatch(pattern: string, value: string, caseInsensitive = false): boolean {
  const re = new RegExp(
    `^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`,
    caseInsensitive ? 'i' : '',
  );
  return re.test(value);
}

/** How a caller can be named in a Principal element. */
export interface CallerIdentity {
  /** The caller's own ARN: user ARN, account root ARN, or assumed-role session ARN. */
  arn: string;
  accountId: string;
  /** For assumed-role sessions: the role ARN (a policy naming the role matches its sessions). */
  roleArn?: string;
  isRoot: boolean;
}

/** Does the statement's Principal name this caller directly (not through account delegation)? */
export function principalMatches(stmt: PolicyStatement, caller: CallerIdentity): 'direct' | 'account' | null {
  if (stmt.Principal === '*') return 'direct';
  const names = list(stmt.Principal?.AWS);
  let viaAccount = false;
  for (const n of names) {
    if (n === '*') return 'direct';
    if (n === caller.arn || (caller.roleArn && n === caller.roleArn)) return 'direct';
    if (n === caller.accountId || n === `arn:aws:iam::${caller.accountId}:root`) {
      // The account root principal is the root user itself, and delegation to the account's IAM policies
      // for everyone else in that account.
      if (caller.isRoot) return 'direct';
      viaAccount = true;
    }
  }
  return viaAccount ? 'account' : null;
}

export type ConditionContext = Record<string, string | undefined>;

function conditionsHold(cond: PolicyStatement['Condition'], ctx: ConditionContext): boolean {
  if (!cond) return true;
  for (const [rawOp, pairs] of Object.entries(cond)) {
    const ifExists = rawOp.endsWith('IfExists');
    const op = ifExists ? rawOp.slice(0, -'IfExists'.length) : rawOp;
    for (const [rawKey, expected] of Object.entries(pairs ?? {})) {
      const key = Object.keys(ctx).find((k) => k.toLowerCase() === rawKey.toLowerCase());
      const actual = key === undefined ? undefined : ctx[key];
      if (actual === undefined) {
        if (ifExists) continue;
        if (op === 'StringNotEquals' || op === 'StringNotLike') continue;
        return false;
      }
      const values = list(expected);
      let ok: boolean;
      switch (op) {
        case 'StringEquals':
          ok = values.includes(actual);
          break;
        case 'StringEqualsIgnoreCase':
          ok = values.some((v) => v.toLowerCase() === actual.toLowerCase());
          break;
        case 'StringLike':
          ok = values.some((v) => globMatch(v, actual));
          break;
        case 'StringNotEquals':
          ok = !values.includes(actual);
          break;
        case 'StringNotLike':
          ok = !values.some((v) => globMatch(v, actual));
          break;
        default:
          ok = false; // unsupported operator: never grants
      }
      if (!ok) return false;
    }
  }
  return true;
}

export interface StatementMatch {
  action: string;
  resource: string;
  caller?: CallerIdentity;
  context?: ConditionContext;
}

/**
 * Evaluates one policy: 'deny' if an explicit Deny matches, 'allow' if an Allow matches directly,
 * 'account' if an Allow matches only through the account-root principal (resource policies), else 'none'.
 * Identity and session policies (no Principal) pass caller undefined.
 */
export function evaluate(doc: PolicyDocument | undefined, m: StatementMatch): 'deny' | 'allow' | 'account' | 'none' {
  if (!doc) return 'none';
  let result: 'allow' | 'account' | 'none' = 'none';
  for (const stmt of doc.Statement) {
    if (!list(stmt.Action).some((a) => globMatch(a, m.action, true))) continue;
    const resources = list(stmt.Resource);
    if (resources.length > 0 && !resources.some((r) => globMatch(r, m.resource))) continue;
    let how: 'direct' | 'account' | null = 'direct';
    if (m.caller) how = principalMatches(stmt, m.caller);
    if (!how) continue;
    if (!conditionsHold(stmt.Condition, m.context ?? {})) continue;
    if (stmt.Effect === 'Deny') {
      // A Deny naming the account covers every principal of that account.
      return 'deny';
    }
    if (how === 'direct') result = 'allow';
    else if (result === 'none') result = 'account';
  }
  return result;
}

export function defaultKeyPolicy(accountId: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Id: 'key-default-1',
    Statement: [
      {
        Sid: 'Enable IAM User Permissions',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${accountId}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
    ],
  });
}

import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * IAM policy evaluation as the IAM User Guide describes it ("Policy evaluation logic", "IAM JSON policy
 * elements"): Effect Allow/Deny; Principal or NotPrincipal {AWS: ...} | "*"; Action or NotAction and Resource or
 * NotResource with `*` and `?` wildcards (actions match case-insensitively); Condition with every documented
 * operator family (String*, Numeric*, Date*, Bool, BinaryEquals, IpAddress/NotIpAddress, Arn*, Null), the
 * `IfExists` suffix and the `ForAnyValue:`/`ForAllValues:` set operators for multivalued keys.
 *
 * A condition key absent from the request context makes a condition false, except for the negated operators
 * (StringNotEquals, ArnNotLike, …), which are true (IAM User Guide, "Condition operators"). An operator outside
 * that grammar is refused when the policy is stored (MalformedPolicyDocument): it is never evaluated, so a Deny
 * written with it can never silently fail open.
 */

export type PrincipalElement = '*' | { AWS?: string | string[] };

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: PrincipalElement;
  NotPrincipal?: PrincipalElement;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
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
    if ((st.Action === undefined) === (st.NotAction === undefined))
      throw new MalformedPolicyError(`Statement ${i}: exactly one of Action and NotAction is required.`);
    if (!isStringOrList(st.Action ?? st.NotAction))
      throw new MalformedPolicyError(`Statement ${i}: Action must be a string or a list of strings.`);
    if (st.Resource !== undefined && st.NotResource !== undefined)
      throw new MalformedPolicyError(`Statement ${i}: Resource and NotResource cannot both be present.`);
    if ((st.Resource ?? st.NotResource) !== undefined && !isStringOrList(st.Resource ?? st.NotResource))
      throw new MalformedPolicyError(`Statement ${i}: Resource must be a string or a list of strings.`);
    const principalOk = (p: unknown) =>
      p === '*' || (!!p && typeof p === 'object' && isStringOrList((p as { AWS?: unknown }).AWS));
    if (st.Principal !== undefined && st.NotPrincipal !== undefined)
      throw new MalformedPolicyError(`Statement ${i}: Principal and NotPrincipal cannot both be present.`);
    if (opts.requirePrincipal) {
      const p = st.Principal ?? st.NotPrincipal;
      if (!principalOk(p)) throw new MalformedPolicyError(`Statement ${i}: Principal must be "*" or {"AWS": ...}.`);
    } else if (st.Principal !== undefined || st.NotPrincipal !== undefined) {
      if (!principalOk(st.Principal ?? st.NotPrincipal))
        throw new MalformedPolicyError(`Statement ${i}: Principal must be "*" or {"AWS": ...}.`);
    }
    if (st.Condition !== undefined) {
      if (typeof st.Condition !== 'object' || st.Condition === null || Array.isArray(st.Condition))
        throw new MalformedPolicyError(`Statement ${i}: Condition must be an object.`);
      st.Condition = normaliseCondition(i, st.Condition as Record<string, unknown>);
    }
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
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
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

function namesAccount(n: string, accountId: string): boolean {
  return n === accountId || n === `arn:aws:iam::${accountId}:root`;
}

/**
 * Does the statement's Principal (or NotPrincipal) cover this caller, directly or only through delegation to its
 * account? NotPrincipal (IAM User Guide, "NotPrincipal"): the statement covers every principal except those
 * named. With Deny, AWS may evaluate the account, then the role, then the session, so a caller escapes the Deny
 * only when each of those is named (the guide's advice to list the session, the role and the account ARN);
 * with Allow, a caller named in any of those forms is left out.
 */
export function principalMatches(stmt: PolicyStatement, caller: CallerIdentity): 'direct' | 'account' | null {
  if (stmt.NotPrincipal !== undefined) {
    const names = stmt.NotPrincipal === '*' ? ['*'] : list(stmt.NotPrincipal.AWS);
    if (names.includes('*')) return null;
    const chain = [caller.arn, ...(caller.roleArn ? [caller.roleArn] : [])];
    const named = (arn: string) => names.includes(arn);
    const accountNamed = names.some((n) => namesAccount(n, caller.accountId));
    const excluded =
      stmt.Effect === 'Deny'
        ? accountNamed && (caller.isRoot || chain.every(named))
        : accountNamed || chain.some(named);
    return excluded ? null : 'direct';
  }
  if (stmt.Principal === '*') return 'direct';
  const names = list(stmt.Principal?.AWS);
  let viaAccount = false;
  for (const n of names) {
    if (n === '*') return 'direct';
    if (n === caller.arn || (caller.roleArn && n === caller.roleArn)) return 'direct';
    if (namesAccount(n, caller.accountId)) {
      // The account root principal is the root user itself, and delegation to the account's IAM policies
      // for everyone else in that account.
      if (caller.isRoot) return 'direct';
      viaAccount = true;
    }
  }
  return viaAccount ? 'account' : null;
}

/** Request context: single-valued keys are strings, multivalued keys (kms:EncryptionContextKeys) lists. */
export type ConditionContext = Record<string, string | string[] | undefined>;

type Test = (policyValue: string, actual: string) => boolean;

const ipOf = (s: string): { addr: string; type: 'ipv4' | 'ipv6' } | null => {
  const a = s.startsWith('::ffff:') && isIPv4(s.slice(7)) ? s.slice(7) : s;
  return isIPv4(a) ? { addr: a, type: 'ipv4' } : isIPv6(a) ? { addr: a, type: 'ipv6' } : null;
};

function ipInCidr(cidr: string, actual: string): boolean {
  const ip = ipOf(actual);
  const [net, bits] = cidr.split('/');
  const base = ipOf(net);
  if (!ip || !base || ip.type !== base.type) return false;
  const prefix = bits === undefined ? (base.type === 'ipv4' ? 32 : 128) : Number(bits);
  const list = new BlockList();
  list.addSubnet(base.addr, prefix, base.type);
  return list.check(ip.addr, ip.type);
}

function dateOf(v: string): number {
  // Dates are ISO 8601 or epoch seconds (IAM User Guide, "Date condition operators").
  return /^\d+$/.test(v) ? Number(v) * 1000 : Date.parse(v);
}

function numberCompare(cmp: (a: number, b: number) => boolean): Test {
  return (p, a) => {
    const x = Number(a);
    const y = Number(p);
    return Number.isFinite(x) && Number.isFinite(y) && cmp(x, y);
  };
}

function dateCompare(cmp: (a: number, b: number) => boolean): Test {
  return (p, a) => {
    const x = dateOf(a);
    const y = dateOf(p);
    return Number.isFinite(x) && Number.isFinite(y) && cmp(x, y);
  };
}

/** ArnLike: each of the six colon-separated parts matched on its own, with wildcards inside a part. */
function arnLike(pattern: string, actual: string): boolean {
  const pp = pattern.split(':');
  const ap = actual.split(':');
  if (pp.length < 6 || ap.length < 6) return pp.length < 6 && ap.length < 6 && globMatch(pattern, actual);
  const head = (x: string[]) => [...x.slice(0, 5), x.slice(5).join(':')];
  const [p6, a6] = [head(pp), head(ap)];
  return p6.every((seg, i) => globMatch(seg, a6[i]));
}

/** Operator → [test on one value pair, negated?]. The negated ones hold when no policy value matches. */
const OPERATORS: Record<string, [Test, boolean]> = {
  StringEquals: [(p, a) => p === a, false],
  StringNotEquals: [(p, a) => p === a, true],
  StringEqualsIgnoreCase: [(p, a) => p.toLowerCase() === a.toLowerCase(), false],
  StringNotEqualsIgnoreCase: [(p, a) => p.toLowerCase() === a.toLowerCase(), true],
  StringLike: [(p, a) => globMatch(p, a), false],
  StringNotLike: [(p, a) => globMatch(p, a), true],
  NumericEquals: [numberCompare((a, b) => a === b), false],
  NumericNotEquals: [numberCompare((a, b) => a === b), true],
  NumericLessThan: [numberCompare((a, b) => a < b), false],
  NumericLessThanEquals: [numberCompare((a, b) => a <= b), false],
  NumericGreaterThan: [numberCompare((a, b) => a > b), false],
  NumericGreaterThanEquals: [numberCompare((a, b) => a >= b), false],
  DateEquals: [dateCompare((a, b) => a === b), false],
  DateNotEquals: [dateCompare((a, b) => a === b), true],
  DateLessThan: [dateCompare((a, b) => a < b), false],
  DateLessThanEquals: [dateCompare((a, b) => a <= b), false],
  DateGreaterThan: [dateCompare((a, b) => a > b), false],
  DateGreaterThanEquals: [dateCompare((a, b) => a >= b), false],
  Bool: [(p, a) => p.toLowerCase() === a.toLowerCase(), false],
  BinaryEquals: [(p, a) => p === a, false],
  IpAddress: [ipInCidr, false],
  NotIpAddress: [ipInCidr, true],
  ArnEquals: [(p, a) => arnLike(p, a), false],
  ArnLike: [(p, a) => arnLike(p, a), false],
  ArnNotEquals: [(p, a) => arnLike(p, a), true],
  ArnNotLike: [(p, a) => arnLike(p, a), true],
};

interface ParsedOperator {
  set: 'any' | 'all' | null;
  op: string;
  ifExists: boolean;
}

/** Splits `ForAnyValue:StringLikeIfExists` into its parts; null when it is not in IAM's grammar. */
export function parseOperator(raw: string): ParsedOperator | null {
  let rest = raw;
  let set: ParsedOperator['set'] = null;
  if (rest.startsWith('ForAnyValue:')) [set, rest] = ['any', rest.slice('ForAnyValue:'.length)];
  else if (rest.startsWith('ForAllValues:')) [set, rest] = ['all', rest.slice('ForAllValues:'.length)];
  if (rest === 'Null') return set ? null : { set, op: 'Null', ifExists: false };
  const ifExists = rest.endsWith('IfExists');
  const op = ifExists ? rest.slice(0, -'IfExists'.length) : rest;
  return Object.prototype.hasOwnProperty.call(OPERATORS, op) ? { set, op, ifExists } : null;
}

/** Validates a Condition block and turns JSON booleans/numbers into the strings IAM compares. */
function normaliseCondition(
  i: number,
  cond: Record<string, unknown>,
): Record<string, Record<string, string | string[]>> {
  const out: Record<string, Record<string, string | string[]>> = {};
  for (const [rawOp, pairs] of Object.entries(cond)) {
    const parsed = parseOperator(rawOp);
    if (!parsed) throw new MalformedPolicyError(`Statement ${i}: ${rawOp} is not a supported condition operator.`);
    if (!pairs || typeof pairs !== 'object' || Array.isArray(pairs))
      throw new MalformedPolicyError(`Statement ${i}: the ${rawOp} condition must map condition keys to values.`);
    const block: Record<string, string | string[]> = {};
    for (const [key, v] of Object.entries(pairs as Record<string, unknown>)) {
      const scalar = (x: unknown): string => {
        if (typeof x === 'string') return x;
        if (typeof x === 'boolean' || typeof x === 'number') return String(x);
        throw new MalformedPolicyError(
          `Statement ${i}: the value of ${rawOp} ${key} must be a string, number, boolean or a list of them.`,
        );
      };
      if (Array.isArray(v)) {
        if (v.length === 0)
          throw new MalformedPolicyError(`Statement ${i}: ${rawOp} ${key} has an empty list of values.`);
        block[key] = v.map(scalar);
      } else block[key] = scalar(v);
    }
    out[rawOp] = block;
  }
  return out;
}

function lookup(ctx: ConditionContext, rawKey: string): string[] | undefined {
  // Condition key names are case-insensitive (kms:EncryptionContext:Keyhold:Tenant matches keyhold:tenant).
  const want = rawKey.toLowerCase();
  const key = Object.keys(ctx).find((k) => k.toLowerCase() === want);
  const v = key === undefined ? undefined : ctx[key];
  if (v === undefined) return undefined;
  const arr = Array.isArray(v) ? v : [v];
  return arr.length === 0 ? undefined : arr;
}

function conditionsHold(cond: PolicyStatement['Condition'], ctx: ConditionContext): boolean {
  if (!cond) return true;
  for (const [rawOp, pairs] of Object.entries(cond)) {
    const parsed = parseOperator(rawOp);
    // Stored policies were validated; anything else here cannot be trusted to grant (and is never reached).
    if (!parsed) return false;
    for (const [rawKey, expected] of Object.entries(pairs ?? {})) {
      const actual = lookup(ctx, rawKey);
      const values = list(expected);
      let ok: boolean;
      if (parsed.op === 'Null') {
        ok = values.some((v) => v.toLowerCase() === 'true') ? actual === undefined : actual !== undefined;
      } else {
        const [test, negated] = OPERATORS[parsed.op];
        const matchesOne = (a: string) => (negated ? !values.some((v) => test(v, a)) : values.some((v) => test(v, a)));
        if (parsed.set === 'all') {
          // ForAllValues is true for an absent key or an empty set (the documented pitfall of using it in an Allow).
          ok = (actual ?? []).every(matchesOne);
        } else if (parsed.set === 'any') {
          ok = actual !== undefined && actual.some(matchesOne);
        } else if (actual === undefined) {
          ok = parsed.ifExists || negated;
        } else {
          ok = negated ? actual.every(matchesOne) : actual.some(matchesOne);
        }
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

function actionMatches(stmt: PolicyStatement, action: string): boolean {
  if (stmt.NotAction !== undefined) return !list(stmt.NotAction).some((a) => globMatch(a, action, true));
  return list(stmt.Action).some((a) => globMatch(a, action, true));
}

function resourceMatches(stmt: PolicyStatement, resource: string): boolean {
  if (stmt.NotResource !== undefined) return !list(stmt.NotResource).some((r) => globMatch(r, resource));
  const resources = list(stmt.Resource);
  return resources.length === 0 || resources.some((r) => globMatch(r, resource));
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
    if (!actionMatches(stmt, m.action)) continue;
    if (!resourceMatches(stmt, m.resource)) continue;
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

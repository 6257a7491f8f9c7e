/**
 * IAM Conditions on Cloud KMS role bindings: the subset of CEL the emulator understands, which is what customers
 * use to scope a grant to a time window or to a part of their key hierarchy:
 *
 *   request.time < timestamp("2027-01-01T00:00:00Z")        (also <=, >, >=)
 *   resource.name.startsWith("projects/p/locations/l/keyRings/r/")
 *   resource.name == "projects/p/…/cryptoKeys/k"
 *   terms joined with && (all must hold)
 *
 * Anything else is refused when the policy is set (INVALID_ARGUMENT), never evaluated to false: a condition the
 * emulator cannot read must not quietly turn a customer's grant into a refusal (or their deny into a grant).
 */
export interface ConditionContext {
  /** Full resource name the request is about (a CryptoKey or KeyRing). */
  resourceName: string;
  /** Request time, ms since the epoch. */
  now: number;
}

type Term = (c: ConditionContext) => boolean;

const TIME = /^request\.time\s*(<=|>=|<|>)\s*timestamp\(\s*"([^"]+)"\s*\)$/;
const PREFIX = /^resource\.name\.startsWith\(\s*"([^"]*)"\s*\)$/;
const EQUALS = /^resource\.name\s*==\s*"([^"]*)"$/;

/** Compiles an expression, or returns why it cannot be used. */
export function compileCondition(
  expression: string,
): { ok: true; test: (c: ConditionContext) => boolean } | { ok: false; problem: string } {
  if (typeof expression !== 'string' || expression.trim() === '')
    return { ok: false, problem: 'condition.expression is required.' };
  if (expression.length > 12_800)
    return { ok: false, problem: 'condition.expression is longer than 12800 characters.' };
  const terms: Term[] = [];
  for (const raw of expression.split('&&')) {
    const t = raw
      .trim()
      .replace(/^\((.*)\)$/, '$1')
      .trim();
    let m = TIME.exec(t);
    if (m) {
      const at = Date.parse(m[2]);
      if (!Number.isFinite(at) || !/Z$|[+-]\d\d:\d\d$/.test(m[2]))
        return { ok: false, problem: `timestamp("${m[2]}") is not an RFC 3339 time.` };
      const op = m[1];
      terms.push((c) => (op === '<' ? c.now < at : op === '<=' ? c.now <= at : op === '>' ? c.now > at : c.now >= at));
      continue;
    }
    m = PREFIX.exec(t);
    if (m) {
      const prefix = m[1];
      terms.push((c) => c.resourceName.startsWith(prefix));
      continue;
    }
    m = EQUALS.exec(t);
    if (m) {
      const name = m[1];
      terms.push((c) => c.resourceName === name);
      continue;
    }
    return {
      ok: false,
      problem: `condition term ${JSON.stringify(t.slice(0, 200))} is not supported (request.time comparisons, resource.name.startsWith, resource.name ==, joined by &&).`,
    };
  }
  return { ok: true, test: (c) => terms.every((f) => f(c)) };
}

const cache = new Map<string, (c: ConditionContext) => boolean>();

/** Evaluates an expression that was accepted when its policy was set (compiled once). */
export function evaluateCondition(expression: string, c: ConditionContext): boolean {
  let f = cache.get(expression);
  if (!f) {
    const compiled = compileCondition(expression);
    // Only accepted expressions are stored, so this cannot fail; refuse rather than grant if it ever does.
    if (!compiled.ok) return false;
    f = compiled.test;
    if (cache.size > 1000) cache.clear();
    cache.set(expression, f);
  }
  return f(c);
}

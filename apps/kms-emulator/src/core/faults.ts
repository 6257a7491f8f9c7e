import { randomUUID } from 'node:crypto';

export type Cloud = 'aws' | 'azure' | 'gcp';

/**
 * What a fault rule does to a matching call:
 * - latency: delay the answer by latencyMs (+ uniform jitter up to jitterMs); stacks with other faults
 * - throttle: answer the cloud's own throttling error (AWS ThrottlingException, Azure 429 + Retry-After,
 *   GCP RESOURCE_EXHAUSTED)
 * - error: answer the cloud's own 5xx-class error (AWS KMSInternalException/500, Azure 500/503, GCP UNAVAILABLE)
 * - hang: never answer; the connection stays open until the client gives up
 * - reset: destroy the connection without an answer
 */
export type FaultKind = 'latency' | 'throttle' | 'error' | 'hang' | 'reset';

export interface FaultRuleInput {
  cloud?: Cloud;
  /** Operation name as the cloud calls it (e.g. Decrypt, unwrapKey, Decrypt for GCP, AssumeRole, token). */
  operation?: string;
  /** Matches when the call's key id contains this string (ARN, key URL or resource name). */
  keyId?: string;
  /** Matches the calling principal exactly. */
  principal?: string;
  /**
   * Matches the call's region exactly (case-insensitive): AWS the region of the request's SigV4 scope (a key's
   * regional endpoint), GCP the location in the resource name, Azure the vault host name. A regional outage.
   */
  region?: string;
  kind: FaultKind;
  /** Probability in [0,1] that a matching call is affected; default 1. */
  rate?: number;
  latencyMs?: number;
  jitterMs?: number;
  /** Stop after affecting this many calls. */
  count?: number;
}

export interface FaultRule extends Omit<FaultRuleInput, 'rate'> {
  rate: number;
  id: string;
  hits: number;
}

export interface CallInfo {
  cloud: Cloud;
  operation: string;
  keyId?: string;
  principal?: string;
  region?: string;
}

export interface FaultDecision {
  delayMs: number;
  fault: Exclude<FaultKind, 'latency'> | null;
}

const KINDS: ReadonlySet<string> = new Set(['latency', 'throttle', 'error', 'hang', 'reset']);
const CLOUDS: ReadonlySet<string> = new Set(['aws', 'azure', 'gcp']);

export class FaultEngine {
  private rules: FaultRule[] = [];

  add(input: FaultRuleInput): FaultRule {
    const problem = validateRule(input);
    if (problem) throw new Error(problem);
    const rule: FaultRule = { ...input, rate: input.rate ?? 1, id: randomUUID(), hits: 0 };
    this.rules.push(rule);
    return rule;
  }

  remove(id: string): boolean {
    const before = this.rules.length;
    this.rules = this.rules.filter((r) => r.id !== id);
    return this.rules.length !== before;
  }

  clear(): void {
    this.rules = [];
  }

  list(): FaultRule[] {
    return this.rules.map((r) => ({ ...r }));
  }

  decide(call: CallInfo): FaultDecision {
    let delayMs = 0;
    let fault: FaultDecision['fault'] = null;
    for (const rule of this.rules) {
      if (!matches(rule, call)) continue;
      if (rule.count !== undefined && rule.hits >= rule.count) continue;
      if (rule.rate < 1 && Math.random() >= rule.rate) continue;
      if (rule.kind === 'latency') {
        rule.hits++;
        delayMs += (rule.latencyMs ?? 0) + Math.random() * (rule.jitterMs ?? 0);
      } else if (!fault) {
        rule.hits++;
        fault = rule.kind;
      }
    }
    return { delayMs, fault };
  }
}

function matches(rule: FaultRule, call: CallInfo): boolean {
  if (rule.cloud && rule.cloud !== call.cloud) return false;
  if (rule.operation && rule.operation.toLowerCase() !== call.operation.toLowerCase()) return false;
  if (rule.keyId && !(call.keyId ?? '').includes(rule.keyId)) return false;
  if (rule.principal && rule.principal !== call.principal) return false;
  if (rule.region && rule.region.toLowerCase() !== (call.region ?? '').toLowerCase()) return false;
  return true;
}

function validateRule(input: FaultRuleInput): string | null {
  if (!input || typeof input !== 'object') return 'fault rule must be an object';
  if (!KINDS.has(input.kind)) return `kind must be one of ${[...KINDS].join(', ')}`;
  if (input.cloud !== undefined && !CLOUDS.has(input.cloud)) return 'cloud must be aws, azure or gcp';
  if (input.region !== undefined && (typeof input.region !== 'string' || input.region === ''))
    return 'region must be a non-empty string';
  if (input.rate !== undefined && !(typeof input.rate === 'number' && input.rate >= 0 && input.rate <= 1))
    return 'rate must be a number in [0, 1]';
  for (const f of ['latencyMs', 'jitterMs', 'count'] as const) {
    const v = input[f];
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= 0))
      return `${f} must be a non-negative number`;
  }
  if (input.kind === 'latency' && input.latencyMs === undefined) return 'latency rules need latencyMs';
  return null;
}

export function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}

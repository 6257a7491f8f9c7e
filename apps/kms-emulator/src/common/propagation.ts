import type { Propagation } from '../core/propagation';

/**
 * Propagation of AWS KMS key state and key policy changes (AWS KMS is eventually consistent: a DisableKey or a
 * PutKeyPolicy can take a while to reach every host that answers Decrypt). Kept outside the KMS handlers: a
 * mutating call is bracketed by `before`/`after`, which record what changed, and every other call reads a view
 * of the state in which keys whose change has not reached this read yet carry their old state and policy.
 */
interface KeyFacts {
  state: string;
  policy: string;
}

interface AwsKeyLike extends KeyFacts {
  keyId: string;
}

interface AwsStateLike<K extends AwsKeyLike> {
  keys: K[];
}

export class AwsKeyPropagation {
  constructor(private readonly propagation: Propagation | undefined) {}

  /** Facts of every key before a mutating call (null when propagation is off for AWS). */
  before<K extends AwsKeyLike>(state: AwsStateLike<K>): Map<string, KeyFacts> | null {
    if (!this.propagation?.list().some((p) => p.cloud === 'aws')) return null;
    return new Map(state.keys.map((k) => [k.keyId, { state: k.state, policy: k.policy }]));
  }

  /** Records each key whose state or policy the call changed. */
  after<K extends AwsKeyLike>(snapshot: Map<string, KeyFacts> | null, state: AwsStateLike<K>): void {
    if (!snapshot || !this.propagation) return;
    for (const k of state.keys) {
      const was = snapshot.get(k.keyId);
      if (was && (was.state !== k.state || was.policy !== k.policy))
        this.propagation.changing('aws', `key:${k.keyId}`, was);
    }
  }

  /** The state a read sees: the same object unless some key's change has not reached this read yet. */
  view<S extends AwsStateLike<K>, K extends AwsKeyLike>(state: S): S {
    if (!this.propagation) return state;
    let changed = false;
    const keys = state.keys.map((k) => {
      const seen = this.propagation!.view<KeyFacts>('aws', `key:${k.keyId}`, { state: k.state, policy: k.policy });
      if (seen.state === k.state && seen.policy === k.policy) return k;
      changed = true;
      return { ...k, state: seen.state, policy: seen.policy };
    });
    return changed ? { ...state, keys } : state;
  }
}

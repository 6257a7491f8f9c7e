import { LRUCache } from 'lru-cache';

/**
 * Proof that a Key Vault key's owner gave it to one Keyhold tenant: the key's current version carries the tag
 * `keyhold-external-id` set to that tenant's ExternalId. Keyhold's application is granted get/wrapKey/unwrapKey
 * only, so it can read tags but never set them; only someone who administers the key can. A key URL and directory
 * id are not secrets, so without this proof any Keyhold tenant could name another customer's key and Keyhold's one
 * application (trusted on that key) would use it on their behalf: the confused deputy.
 */
export const OWNERSHIP_TAG = 'keyhold-external-id';

export type Ownership = 'proven' | 'missing' | 'other_tenant';

/** Reads the proof off a key's tags. Exact match: the ExternalId is case-sensitive and never trimmed. */
export function ownershipOf(tags: Readonly<Record<string, string>> | undefined, externalId: string): Ownership {
  const value = tags?.[OWNERSHIP_TAG];
  if (value === undefined || value === '') return 'missing';
  return value === externalId ? 'proven' : 'other_tenant';
}

/** The command the key's owner runs, with the tenant's own value (never another tenant's). */
export function ownershipTagCommand(vault: string, keyName: string, externalId: string, managedHsm: boolean): string {
  return [
    `az keyvault key set-attributes --${managedHsm ? 'hsm-name' : 'vault-name'} ${vault} --name ${keyName} \\`,
    `  --tags ${OWNERSHIP_TAG}=${externalId}`,
  ].join('\n');
}

/**
 * Positive ownership checks, remembered for a short time so an unwrap (the DEK path's cold read) does not pay a
 * getKey each time. Only successes are kept; a failed or unreadable check is never remembered, and a check that
 * finds the tag gone forgets the entry at once.
 */
export class OwnershipCache {
  /** Key → until when its success counts (epoch ms); least recently used dropped beyond `max`. */
  private readonly until: LRUCache<string, number>;

  constructor(
    private readonly ttlMs: number,
    max = 4096,
  ) {
    this.until = new LRUCache<string, number>({ max });
  }

  fresh(key: string, now = Date.now()): boolean {
    const t = this.until.get(key);
    if (t === undefined) return false;
    if (t > now) return true;
    this.until.delete(key);
    return false;
  }

  remember(key: string, now = Date.now()): void {
    if (this.ttlMs <= 0) return;
    this.until.set(key, now + this.ttlMs);
  }

  forget(key: string): void {
    this.until.delete(key);
  }

  clear(): void {
    this.until.clear();
  }
}

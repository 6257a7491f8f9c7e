/**
 * The context a KEK is wrapped under. It is bound cryptographically on every wrap (AWS EncryptionContext, GCP
 * additionalAuthenticatedData, Azure: a MAC inside the RSA-OAEP payload), so a wrapped KEK moved to another
 * tenant, workspace, configuration or version fails to unwrap. It appears in the customer's audit trail in
 * clear: it must never carry a secret.
 */
export interface WrapContext {
  readonly tenantId: string;
  readonly workspaceId: string;
  readonly keyConfigurationId: string;
  readonly kekVersion: number;
  readonly purpose: 'workspace-kek' | 'validation-probe';
}

/** Which stored KEK a wrapped form belongs to: the tenant, the workspace, the configuration that wraps it, the version. */
export interface KekIdentity {
  readonly tenantId: string;
  readonly workspaceId: string;
  readonly keyConfigurationId: string;
  readonly kekVersion: number;
}

/**
 * The context a workspace KEK is wrapped under at the customer key (docs/ARCHITECTURE.md, key hierarchy): the one
 * definition the API's unwrap, the bind and every job's wrap, rewrap and unwrap use. Were two of them to compute it
 * differently, every unwrap of a form written by the other would fail as if the key had been revoked.
 */
export function kekWrapContext(k: KekIdentity): WrapContext {
  return {
    tenantId: k.tenantId,
    workspaceId: k.workspaceId,
    keyConfigurationId: k.keyConfigurationId,
    kekVersion: k.kekVersion,
    purpose: 'workspace-kek',
  };
}

/** String map form (AWS EncryptionContext keys, sorted for determinism). */
export function contextToMap(ctx: WrapContext): Record<string, string> {
  return {
    'keyhold:kek-version': String(ctx.kekVersion),
    'keyhold:key-configuration': ctx.keyConfigurationId,
    'keyhold:purpose': ctx.purpose,
    'keyhold:tenant': ctx.tenantId,
    'keyhold:workspace': ctx.workspaceId,
  };
}

/** Canonical byte form (GCP AAD, Azure MAC input): sorted-key JSON, UTF-8. */
export function canonicalContext(ctx: WrapContext): Buffer {
  const map = contextToMap(ctx);
  const sorted = Object.keys(map)
    .sort()
    .map((k) => [k, map[k]]);
  return Buffer.from(JSON.stringify(sorted), 'utf8');
}

import type { KeyConfigurationRow, OperationRow, TenantRow, WorkspaceRow } from '@app/persistence';
import type { ProviderRegistry } from './provider-registry';

/** Response shapes of the admin API (docs/API.md). Only non-secret fields ever leave through these. */
export function workspaceView(w: WorkspaceRow) {
  return {
    id: w.id,
    name: w.name,
    keyState: w.keyState,
    keyConfigurationId: w.keyConfigurationId,
    kekVersion: w.currentKekVersion,
    degraded: w.degraded,
    updatedAt: w.updatedAt,
  };
}

export function keyConfigurationView(
  kc: KeyConfigurationRow,
  registry: ProviderRegistry,
  tenant: { id: string; externalId: string },
) {
  // The ExternalId is the tenant's, shown on the tenant; it is not part of what the admin configured.
  const identifiers = Object.fromEntries(
    Object.entries(kc.config).filter(([k]) => k !== 'externalId' && k !== 'provider'),
  );
  let setup: Record<string, unknown> = {};
  try {
    setup = registry.has(kc.provider) ? registry.binding(kc.provider).hints(kc.config, tenant) : {};
  } catch {
    setup = {};
  }
  return {
    id: kc.id,
    name: kc.name,
    provider: kc.provider,
    [kc.provider]: identifiers,
    status: kc.status,
    // probeWarning: set by the access probe when the key works but something the admin should fix was met (e.g.
    // describe refused while unwrap works); never a revocation. Absent when there is none.
    validation: {
      checks: kc.validation?.checks ?? [],
      ...(kc.validation?.probeWarning ? { probeWarning: kc.validation.probeWarning } : {}),
    },
    validatedAt: kc.validatedAt,
    createdAt: kc.createdAt,
    setup,
  };
}

export function tenantView(t: TenantRow, registry: ProviderRegistry) {
  const identities: Record<string, unknown> = {};
  for (const kind of ['aws', 'azure', 'gcp'] as const) {
    if (!registry.has(kind)) continue;
    try {
      identities[kind] = registry.binding(kind).identity(t);
    } catch {
      identities[kind] = null;
    }
  }
  return { id: t.id, name: t.name, createdAt: t.createdAt, ...identities };
}

export function operationView(o: OperationRow) {
  return {
    id: o.id,
    kind: o.kind,
    workspaceId: o.workspaceId,
    state: o.state,
    step: o.step,
    progress: { done: Number(o.progressDone), total: Number(o.progressTotal) },
    error: o.error,
    targetKeyConfigurationId: o.targetKeyConfigurationId,
    result: o.result ?? null,
    createdAt: o.createdAt,
    updatedAt: o.updatedAt,
    finishedAt: o.finishedAt,
  };
}

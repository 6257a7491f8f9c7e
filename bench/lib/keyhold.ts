import { expectJson, requestJson, JsonResponse } from './http';

/**
 * Client of the Keyhold HTTP contract (docs/API.md) — only the calls the benchmark needs. Every call names itself
 * in errors so a failed precondition reads as "register key configuration: HTTP 400 INVALID_KEY_ARN (…)".
 */
export interface TenantCreated {
  id: string;
  aws: { externalId: string; trustedPrincipalArn: string };
}

export interface OperationView {
  id: string;
  kind: string;
  state: 'queued' | 'running' | 'succeeded' | 'failed';
  progress?: { done: number; total: number };
  error?: unknown;
}

export interface DekView {
  dek: string;
  dekId: string;
  kekVersion: number;
}

export class KeyholdClient {
  /** `baseUrl`: the public listener (admin API); `internalUrl`: the internal listener (DEK API). */
  constructor(
    readonly baseUrl: string,
    readonly internalUrl: string = baseUrl,
  ) {}

  async adminToken(tenantId: string, username: string, password: string): Promise<string> {
    const t = await expectJson<{ access_token: string }>('admin token', `${this.baseUrl}/v1/auth/token`, [200], {
      method: 'POST',
      body: { grant_type: 'password', tenant_id: tenantId, username, password },
    });
    return t.access_token;
  }

  async serviceToken(clientId: string, clientSecret: string): Promise<string> {
    const t = await expectJson<{ access_token: string }>(
      'service-principal token',
      `${this.baseUrl}/v1/auth/token`,
      [200],
      {
        method: 'POST',
        body: { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret },
      },
    );
    return t.access_token;
  }

  async registerAwsKeyConfiguration(
    token: string,
    tenantId: string,
    name: string,
    keyArn: string,
    roleArn: string,
  ): Promise<string> {
    const kc = await expectJson<{
      id: string;
      status: string;
      validation?: { checks?: Array<{ name: string; ok: boolean; message: string }> };
    }>('register key configuration', `${this.baseUrl}/v1/tenants/${tenantId}/key-configurations`, [201], {
      method: 'POST',
      token,
      body: { name, provider: 'aws', aws: { keyArn, roleArn } },
    });
    if (kc.status !== 'valid') {
      const failed = (kc.validation?.checks ?? []).filter((c) => !c.ok).map((c) => `${c.name}: ${c.message}`);
      throw new Error(
        `key configuration "${name}" is ${kc.status}: ${failed.join('; ') || 'no failed check reported'}`,
      );
    }
    return kc.id;
  }

  async createWorkspace(token: string, tenantId: string, name: string): Promise<string> {
    const ws = await expectJson<{ id: string }>(
      'create workspace',
      `${this.baseUrl}/v1/tenants/${tenantId}/workspaces`,
      [201],
      {
        method: 'POST',
        token,
        body: { name },
      },
    );
    return ws.id;
  }

  async bindWorkspace(token: string, tenantId: string, workspaceId: string, keyConfigurationId: string): Promise<void> {
    await expectJson(
      'bind workspace',
      `${this.baseUrl}/v1/tenants/${tenantId}/workspaces/${workspaceId}/key-binding`,
      [200],
      {
        method: 'PUT',
        token,
        body: { keyConfigurationId },
      },
    );
  }

  workspace(
    token: string,
    tenantId: string,
    workspaceId: string,
  ): Promise<{ id: string; keyState: string; kekVersion: number | null }> {
    return expectJson('get workspace', `${this.baseUrl}/v1/tenants/${tenantId}/workspaces/${workspaceId}`, [200], {
      token,
    });
  }

  createServicePrincipal(
    token: string,
    tenantId: string,
    name: string,
    workspaceIds: string[],
  ): Promise<{ id: string; clientId: string; clientSecret: string }> {
    return expectJson('create service principal', `${this.baseUrl}/v1/tenants/${tenantId}/service-principals`, [201], {
      method: 'POST',
      token,
      body: { name, workspaceIds },
      timeoutMs: 120_000,
    });
  }

  async requestOperation(token: string, tenantId: string, workspaceId: string, kind: string): Promise<string> {
    const op = await expectJson<{ operationId: string }>(
      `request ${kind}`,
      `${this.baseUrl}/v1/tenants/${tenantId}/workspaces/${workspaceId}/operations`,
      [202],
      { method: 'POST', token, body: { kind } },
    );
    return op.operationId;
  }

  operation(token: string, tenantId: string, operationId: string): Promise<OperationView> {
    return expectJson('get operation', `${this.baseUrl}/v1/tenants/${tenantId}/operations/${operationId}`, [200], {
      token,
    });
  }

  dek(token: string, workspaceId: string, segmentId: string, timeoutMs = 30_000): Promise<JsonResponse<DekView>> {
    return requestJson<DekView>('get DEK', `${this.internalUrl}${dekPath(workspaceId, segmentId)}`, {
      token,
      timeoutMs,
    });
  }

  async batchGet(token: string, workspaceId: string, segmentIds: string[]): Promise<DekView[]> {
    const res = await expectJson<{ deks: DekView[] }>(
      'batch get DEKs',
      `${this.internalUrl}${batchPath(workspaceId)}`,
      [200],
      {
        method: 'POST',
        token,
        body: { segmentIds },
        timeoutMs: 120_000,
      },
    );
    if (res.deks.length !== segmentIds.length)
      throw new Error(`batch get DEKs returned ${res.deks.length} of ${segmentIds.length} DEKs`);
    return res.deks;
  }
}

export function dekPath(workspaceId: string, segmentId: string): string {
  return `/internal/v1/workspaces/${workspaceId}/segments/${encodeURIComponent(segmentId)}/dek`;
}

export function batchPath(workspaceId: string): string {
  return `/internal/v1/workspaces/${workspaceId}/deks:batchGet`;
}

/** Segment ids of the seeded population: deterministic, so the load generator can address them without a list. */
export function segmentId(i: number): string {
  return `seg-${String(i).padStart(7, '0')}`;
}

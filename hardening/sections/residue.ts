import { randomBytes } from 'node:crypto';
import { DisableKeyCommand } from '@aws-sdk/client-kms';
import { configEnv, expectStatus, spawnWorker } from '../../stack';
import type { KeyMaterialLedger } from '../lib/key-material';
import { awsOwnerOpener, probeResidue } from '../lib/residue-probe';
import type { HardeningStack } from '../lib/stack';
import type { SeededTenant } from '../lib/world';

/**
 * Crypto-shred leaves nothing recoverable, tried as an attacker with the database and one customer key's owner
 * rights. Workspace W of the tenant is bound to key A, its KEK rotated twice, re-keyed to key B, B disabled, W
 * shredded by the real worker; workspace V (also on A) is destroyed with DELETE. Then every byte value stored in any
 * row naming W or V is tried under A (as A's owner, with every context Keyhold could have used): `formsUnwrapped`
 * must be 0. A positive control first proves the probe opens W's forms while W is still on A. Finally the DEK API is
 * asked for V's DEKs (known and new segments, single and batch): `destroyedServed` counts answers other than 410.
 */
export interface ResidueResult {
  formsTried: number;
  formsUnwrapped: number;
  valuesScanned: number;
  /** Forms that opened under A before the re-key (must be > 0, or the probe proves nothing). */
  positiveControl: number;
  destroyedRequests: number;
  destroyedServed: number;
  /** KEK and DEK rows of the destroyed workspace still in Postgres (must be 0). */
  destroyedRowsLeft: number;
  details: string[];
}

export async function runResidue(
  stack: HardeningStack,
  t: SeededTenant,
  ledger: KeyMaterialLedger,
): Promise<ResidueResult> {
  const r: ResidueResult = {
    formsTried: 0,
    formsUnwrapped: 0,
    valuesScanned: 0,
    positiveControl: 0,
    destroyedRequests: 0,
    destroyedServed: 0,
    destroyedRowsLeft: 0,
    details: [],
  };
  const note = (s: string) => {
    if (r.details.length < 20) r.details.push(s);
  };
  const http = stack.http;
  const admin = t.tokens.keyAdmin;
  const ds = stack.api.services.ds;
  // A short confirmation window for this worker only: the section is about what remains after a shred, not its timing.
  const worker = spawnWorker(configEnv(stack.config, { KEYHOLD_PROBE_CONFIRMATION_WINDOW_SECONDS: '2' }));
  try {
    await worker.ready;
    const waitOp = async (id: string) => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const op = await http.get(`${t.base}/operations/${id}`, admin);
        if (op.body?.state === 'succeeded' || op.body?.state === 'failed')
          return op.body as { state: string; error: string | null; result?: unknown };
        if (Date.now() > deadline) throw new Error(`operation ${id} did not finish: ${op.text.slice(0, 200)}`);
        await new Promise((res) => setTimeout(res, 100));
      }
    };
    const requestOp = async (workspaceId: string, kind: string) =>
      waitOp(
        expectStatus(kind, await http.post(`${t.base}/workspaces/${workspaceId}/operations`, { kind }, admin), 202).body
          .operationId,
      );

    // V: a second workspace on A, and a service principal for both.
    const vName = `residue-v-${randomBytes(3).toString('hex')}`;
    const v = expectStatus('create V', await http.post(`${t.base}/workspaces`, { name: vName }, admin), 201).body
      .id as string;
    expectStatus(
      'bind V',
      await http.put(`${t.base}/workspaces/${v}/key-binding`, { keyConfigurationId: t.keyConfigurationId }, admin),
      200,
    );
    const sp = expectStatus(
      'principal',
      await http.post(
        `${t.base}/service-principals`,
        { name: `residue-${randomBytes(3).toString('hex')}`, workspaceIds: [t.workspaceId, v] },
        admin,
      ),
      201,
    );
    const svc = expectStatus(
      'token',
      await http.post('/v1/auth/token', {
        grant_type: 'client_credentials',
        client_id: sp.body.clientId,
        client_secret: sp.body.clientSecret,
      }),
      200,
    ).body.access_token as string;
    const fetch = async (workspaceId: string, segments: string[]) => {
      const res = await http.post(
        `/internal/v1/workspaces/${workspaceId}/deks:batchGet`,
        { segmentIds: segments },
        svc,
      );
      for (const d of (res.body?.deks ?? []) as Array<{ dek: string }>)
        ledger.recordBytes(Buffer.from(d.dek, 'base64'));
      return res;
    };
    const w = t.workspaceId;
    expectStatus(
      'W DEKs',
      await fetch(
        w,
        Array.from({ length: 20 }, (_, i) => `rw-${i}`),
      ),
      200,
    );
    expectStatus(
      'V DEKs',
      await fetch(
        v,
        Array.from({ length: 20 }, (_, i) => `rv-${i}`),
      ),
      200,
    );
    for (let i = 0; i < 2; i++) {
      const op = await requestOp(w, 'kek-rotation');
      if (op.state !== 'succeeded') throw new Error(`KEK rotation failed: ${op.error}`);
    }

    const opener = awsOwnerOpener(stack.aws.kms, t.keyArn);
    r.positiveControl = (
      await probeResidue(ds, opener, {
        tenantId: t.id,
        workspaceId: w,
        keyConfigurationIds: [t.keyConfigurationId],
        maxKekVersion: 3,
      })
    ).unwrapped;

    // Re-key W to B, then the customer disables B: W is shredded by the worker's confirmed revocation.
    const roleName = t.roleArn.split('/').pop() as string;
    const keyB = await stack.aws.createKey(t.roleArn, roleName);
    const kcB = expectStatus(
      'register B',
      await http.post(
        `${t.base}/key-configurations`,
        {
          name: `residue-b-${randomBytes(3).toString('hex')}`,
          provider: 'aws',
          aws: { keyArn: keyB, roleArn: t.roleArn },
        },
        admin,
      ),
      201,
    );
    const rekey = expectStatus(
      're-key',
      await http.put(`${t.base}/workspaces/${w}/key-binding`, { keyConfigurationId: kcB.body.id }, admin),
      202,
    );
    const moved = await waitOp(rekey.body.operationId);
    if (moved.state !== 'succeeded') throw new Error(`re-key failed: ${moved.error}`);
    await stack.aws.kms.send(new DisableKeyCommand({ KeyId: keyB }));
    const check = await requestOp(w, 'revocation-check');
    const state = (await http.get(`${t.base}/workspaces/${w}`, admin)).body.keyState;
    if (state !== 'shredded')
      throw new Error(`W is ${state} after the revocation check (${JSON.stringify(check).slice(0, 200)})`);

    // V is destroyed on purpose.
    expectStatus(
      'destroy V',
      await http.request('DELETE', `${t.base}/workspaces/${v}`, { token: admin, body: { confirm: vName } }),
      200,
    );

    for (const [workspaceId, configs] of [
      [w, [t.keyConfigurationId, kcB.body.id as string]],
      [v, [t.keyConfigurationId]],
    ] as const) {
      const rep = await probeResidue(ds, opener, {
        tenantId: t.id,
        workspaceId,
        keyConfigurationIds: configs,
        maxKekVersion: 3,
      });
      r.formsTried += rep.tried;
      r.formsUnwrapped += rep.unwrapped;
      r.valuesScanned += rep.values;
      for (const h of rep.hits)
        note(`${workspaceId === w ? 'shredded W' : 'destroyed V'}: a value in ${h} opens under A`);
    }
    const left = await ds.query<Array<{ n: number }>>(
      `SELECT (SELECT count(*)::int FROM kek_versions WHERE workspace_id = $1) + (SELECT count(*)::int FROM deks WHERE workspace_id = $1) AS n`,
      [v],
    );
    r.destroyedRowsLeft = left[0].n;
    if (left[0].n !== 0) note(`destroyed V still has ${left[0].n} KEK/DEK row(s)`);

    for (const path of [
      `/internal/v1/workspaces/${v}/segments/rv-1/dek`,
      `/internal/v1/workspaces/${v}/segments/rv-new/dek`,
    ]) {
      r.destroyedRequests++;
      const res = await http.get(path, svc);
      if (res.status !== 410 || res.body?.error?.code !== 'WORKSPACE_DESTROYED') {
        r.destroyedServed++;
        note(`GET ${path} answered ${res.status} ${res.text.slice(0, 120)}`);
      }
    }
    r.destroyedRequests++;
    const batch = await fetch(v, ['rv-2', 'rv-new-2']);
    if (batch.status !== 410) {
      r.destroyedServed++;
      note(`batchGet on destroyed V answered ${batch.status}`);
    }
    return r;
  } finally {
    worker.kill('SIGTERM');
    await Promise.race([worker.exited, new Promise((res) => setTimeout(res, 10_000))]);
  }
}

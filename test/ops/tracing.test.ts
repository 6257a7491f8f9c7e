import { randomUUID } from 'node:crypto';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startTracing, type TracingHandle } from '@app/telemetry';
import { awsBoundWorkspace, startStack, type TestStack } from '../support/stack';
import { startJobsHarness, type JobsHarness } from '../jobs/harness';
import { startTestWorker } from '../support/worker';
import { OperationKind } from '@app/jobs';

/**
 * Traces, checked with an in-memory exporter: admin requests, the cold DEK path and every KMS call are spans (the
 * KMS call nested under the request that caused it), the warm DEK path makes none, and no span carries key material.
 */
describe('tracing', () => {
  let exporter: InMemorySpanExporter;
  let tracing: TracingHandle;
  let stack: TestStack;
  beforeAll(async () => {
    exporter = new InMemorySpanExporter();
    tracing = startTracing({ serviceName: 'keyhold-api', exporter });
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
    await tracing?.shutdown();
  });

  const attrs = (s: ReadableSpan) => s.attributes as Record<string, unknown>;
  const byName = (name: RegExp) => exporter.getFinishedSpans().filter((s) => name.test(s.name));
  const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

  it('admin requests, the cold DEK path and KMS calls are spans; the warm path is not; no key material in any', async () => {
    const w = await awsBoundWorkspace(stack);
    const admin = byName(/^PUT \/v1\/tenants\/:tenantId\/workspaces\/:id\/key-binding$/);
    expect(admin).toHaveLength(1);
    expect(attrs(admin[0])['http.response.status_code']).toBe(200);
    // binding wraps the new KEK at the customer key: that KMS call is a child of the request's span
    const bindCalls = byName(/^kms aws\./).filter((s) => s.spanContext().traceId === admin[0].spanContext().traceId);
    expect(bindCalls.length).toBeGreaterThan(0);
    for (const s of bindCalls) expect(attrs(s)['keyhold.cloud']).toBe('aws');

    stack.api.services.kekCache.clear();
    exporter.reset();
    const cold = await stack.http.get(w.dekPath('traced'), w.svc);
    expect(cold.status).toBe(200);
    const unwrap = byName(/^kek\.unwrap$/);
    expect(unwrap).toHaveLength(1);
    expect(attrs(unwrap[0])['keyhold.workspace_id']).toBe(w.wsId);
    const decrypt = byName(/^kms aws\.unwrap$|^kms aws\.Decrypt$|^kms aws\.decrypt$/);
    expect(decrypt.length).toBeGreaterThanOrEqual(1);
    expect(parentOf(decrypt[0])).toBe(unwrap[0].spanContext().spanId);
    expect(attrs(decrypt[0])).toMatchObject({ 'keyhold.cloud': 'aws', 'keyhold.kms.outcome': 'ok' });

    exporter.reset();
    for (let i = 0; i < 20; i++) expect((await stack.http.get(w.dekPath('traced'), w.svc)).status).toBe(200);
    expect(exporter.getFinishedSpans()).toEqual([]);

    // A failing KMS call records its error class, never the SDK's message.
    stack.api.services.kekCache.clear();
    exporter.reset();
    const rule = stack.emulators.faults.add({
      cloud: 'aws',
      operation: 'Decrypt',
      keyId: w.keyArn.split('/')[1],
      kind: 'error',
    });
    try {
      expect((await stack.http.get(w.dekPath('traced'), w.svc)).status).toBe(503);
    } finally {
      stack.emulators.faults.remove(rule.id);
    }
    const failed = byName(/^kms aws\./).filter((s) => attrs(s)['keyhold.kms.outcome'] !== 'ok');
    expect(failed.length).toBeGreaterThan(0);
    expect(failed[0].status.message).toMatch(/^[a-z_]+$/);

    const dek = cold.body.dek as string;
    const everything = JSON.stringify(
      exporter
        .getFinishedSpans()
        .concat(admin, bindCalls)
        .map((s) => ({ n: s.name, a: s.attributes, e: s.events, st: s.status })),
    );
    expect(everything).not.toContain(dek);
    expect(everything).not.toContain(Buffer.from(dek, 'base64').toString('hex'));
    expect(everything).not.toContain(w.svc);
  });
});

describe('tracing in the worker', () => {
  let exporter: InMemorySpanExporter;
  let tracing: TracingHandle;
  let h: JobsHarness;
  let worker: Awaited<ReturnType<typeof startTestWorker>>;
  beforeAll(async () => {
    exporter = new InMemorySpanExporter();
    tracing = startTracing({ serviceName: 'keyhold-worker', exporter });
    h = await startJobsHarness();
    worker = await startTestWorker(h.config);
  });
  afterAll(async () => {
    await worker?.close();
    await h?.close();
    await tracing?.shutdown();
  });

  it('each job execution is a span with its operation id, and its KMS calls nest under it', async () => {
    const t = await h.awsTenant({ workspaces: 1 });
    const opId = await h.request(t.tenantId, t.workspaceIds[0], OperationKind.KekRotation);
    expect((await h.waitForOperation(t.tenantId, opId)).state).toBe('succeeded');
    const job = exporter
      .getFinishedSpans()
      .filter((s) => s.name === 'job kek-rotation' && (s.attributes['keyhold.operation_id'] as string) === opId);
    if (job.length === 0)
      throw new Error(
        `no job span; spans: ${
          exporter
            .getFinishedSpans()
            .map((s) => s.name)
            .join(', ') || 'none'
        } (${randomUUID()})`,
      );
    const kms = exporter
      .getFinishedSpans()
      .filter((s) => /^kms aws\./.test(s.name) && s.spanContext().traceId === job[0].spanContext().traceId);
    expect(kms.length).toBeGreaterThan(0);
  });
});

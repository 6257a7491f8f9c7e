import { wellFormedBody } from '../lib/bodies';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { diffSnapshots, DbSnapshot } from '../lib/database';
import { encodeSegment, hostileString, hostileValue, PROTO_KEYS } from '../lib/hostile';
import type { KeyMaterialLedger } from '../lib/key-material';
import { Endpoint, endpointsOf, paramKind } from '../lib/openapi';
import type { HardeningStack } from '../lib/stack';
import type { SeededTenant } from '../lib/world';
import { hasErrorCode, recordDeks } from './isolation';

/**
 * Hostile input: property-based fuzzing (fast-check, fixed seed so a run can be replayed) of every request body,
 * path and query parameter of every endpoint in the served OpenAPI document, sent with a valid token of the
 * right kind so the input reaches validation, to the listener that serves it (/internal/* and /metrics on the
 * internal listener). The token endpoint is fuzzed on both listeners (the internal one takes client_credentials),
 * and every internal route is also fuzzed on the public listener, where it must not exist (404; a parser refusal
 * before routing is tolerated, anything else counts in `internalOnPublic`). Properties, for every input:
 *  - the answer is never a 5xx, never a stack trace, and a 4xx carries an error code;
 *  - when the request is rejected (4xx), no table changed (row count + checksum of every table, after the
 *    API's audit buffers are drained, compared with the state just before the request);
 *  - the server's Object.prototype is untouched at the end (prototype pollution), and no request hangs.
 * Inputs the API accepts (2xx: a hostile-looking but valid name, say) are counted, not failed.
 */
export interface FuzzResult {
  seed: number;
  inputs: number;
  fiveXx: number;
  dbChanges: number;
  accepted: number;
  missingErrorCode: number;
  stackTraces: number;
  timeouts: number;
  prototypePolluted: boolean;
  /** Inputs for internal routes sent to the public listener that got anything but a refusal (must be 0). */
  internalOnPublic: number;
  perEndpoint: Record<string, { inputs: number; fiveXx: number; accepted: number; rejected: number }>;
  details: string[];
}

interface FuzzInput {
  pathValues: Record<string, string>;
  rawPath: boolean;
  query: string;
  body: string | undefined;
  contentType: string | undefined;
  what: string;
}

/** Where an endpoint's inputs go: the listener that serves it, the internal one (token endpoint), or the public one (must refuse). */
type Listener = 'serving' | 'internal' | 'public';
type FuzzEndpoint = Endpoint & { listener: Listener };

const isInternalPath = (path: string) => path.startsWith('/internal/') || path === '/metrics';
/** Refusals that happen before routing (body parser, URL limits): an internal route answering those on the public listener still served nothing. */
const PRE_ROUTING_REFUSALS = new Set([400, 404, 413, 414, 415, 431]);

/**
 * The endpoints fuzzed: every documented one on its own listener, the token endpoint once more on the internal
 * listener, and every internal route once more on the public listener.
 */
function fuzzEndpoints(endpoints: Endpoint[]): FuzzEndpoint[] {
  const out: FuzzEndpoint[] = endpoints.map((e) => ({ ...e, listener: 'serving' as const }));
  for (const e of endpoints)
    if (e.method === 'POST' && e.path === '/v1/auth/token') out.push({ ...e, listener: 'internal' });
  for (const e of endpoints) if (isInternalPath(e.path)) out.push({ ...e, listener: 'public' });
  return out;
}

export async function runFuzz(
  stack: HardeningStack,
  t: SeededTenant,
  ledger: KeyMaterialLedger,
  opts: {
    runsPerEndpoint: number;
    seed?: number;
    /** At least this many inputs overall (more runs per endpoint if needed). */ minInputs?: number;
  },
): Promise<FuzzResult> {
  const seed = opts.seed ?? Number(process.env.HARDENING_FUZZ_SEED ?? 20261123);
  const endpoints = fuzzEndpoints(endpointsOf((await stack.http.get('/openapi.json')).body));
  const runs = Math.max(opts.runsPerEndpoint, Math.ceil((opts.minInputs ?? 0) / endpoints.length));
  const protoBefore = Object.getOwnPropertyNames(Object.prototype).sort().join(',');
  const r: FuzzResult = {
    seed,
    inputs: 0,
    fiveXx: 0,
    dbChanges: 0,
    accepted: 0,
    missingErrorCode: 0,
    stackTraces: 0,
    timeouts: 0,
    prototypePolluted: false,
    internalOnPublic: 0,
    perEndpoint: {},
    details: [],
  };
  const note = (what: string) => {
    if (r.details.length < 60) r.details.push(what);
  };
  // The audit sealer signs checkpoints on a timer (every minute for each tenant whose log grew): a row no request
  // caused. A full run fuzzes for minutes, so the sealer rests meanwhile; it seals what is due when it restarts.
  await stack.api.services.sealer.stop();
  try {
    await fuzzEndpointsIn(stack, t, ledger, endpoints, runs, seed, r, note);
  } finally {
    stack.api.services.sealer.start();
  }
  r.prototypePolluted =
    Object.getOwnPropertyNames(Object.prototype).sort().join(',') !== protoBefore ||
    ({} as Record<string, unknown>).admin !== undefined;
  if (r.prototypePolluted) note('Object.prototype of the API process changed during fuzzing');
  return r;
}

async function fuzzEndpointsIn(
  stack: HardeningStack,
  t: SeededTenant,
  ledger: KeyMaterialLedger,
  endpoints: FuzzEndpoint[],
  runs: number,
  seed: number,
  r: FuzzResult,
  note: (what: string) => void,
): Promise<void> {
  let baseline = await settledSnapshot(stack);

  for (const [i, ep] of endpoints.entries()) {
    const label = `${ep.listener === 'serving' ? '' : `${ep.listener}:`}${ep.method} ${ep.path}`;
    const per = (r.perEndpoint[label] = { inputs: 0, fiveXx: 0, accepted: 0, rejected: 0 });
    const client =
      ep.listener === 'internal' ? stack.internalHttp : ep.listener === 'public' ? stack.publicHttp : stack.http;
    // Sampled inputs, then the fixed body breakers every body-taking endpoint always gets (so a small run still
    // covers each parser path of each route, whatever the sample happened to draw).
    const inputs = [...fc.sample(inputArbitrary(ep, t), { numRuns: runs, seed: seed + i }), ...bodyBreakers(ep, t)];
    for (const input of inputs) {
      const path = buildPath(ep, input);
      const headers: Record<string, string> = {};
      if (input.contentType !== undefined) headers['content-type'] = input.contentType;
      let res;
      try {
        res = await client.request(ep.method, path, {
          token: tokenFor(ep, stack, t),
          raw: input.body,
          headers,
          timeoutMs: 15_000,
        });
      } catch (err) {
        r.inputs++;
        per.inputs++;
        r.timeouts++;
        note(`${ep.method} ${ep.path} [${input.what}]: no answer (${(err as Error).name})`);
        baseline = await settledSnapshot(stack);
        continue;
      }
      r.inputs++;
      per.inputs++;
      if (ep.listener === 'public' && !PRE_ROUTING_REFUSALS.has(res.status)) {
        r.internalOnPublic++;
        note(
          `public listener served ${ep.method} ${ep.path} [${input.what}] → ${res.status} ${res.text.slice(0, 120)}`,
        );
      }
      const after = await settledSnapshot(stack);
      if (res.status >= 500) {
        r.fiveXx++;
        per.fiveXx++;
        note(
          `${ep.method} ${ep.path} [${input.what}] → ${res.status} ${res.text.slice(0, 200)} (path ${path.slice(0, 120)})`,
        );
      } else if (res.status >= 200 && res.status < 300) {
        r.accepted++;
        per.accepted++;
        recordDeks(res, ledger);
      } else if (res.status >= 400) {
        per.rejected++;
        if (!hasErrorCode(res)) {
          r.missingErrorCode++;
          note(
            `${ep.method} ${ep.path} [${input.what}] → ${res.status} without an error code: ${res.text.slice(0, 120)}`,
          );
        }
        const changed = diffSnapshots(baseline, after);
        if (changed.length) {
          r.dbChanges++;
          note(`${ep.method} ${ep.path} [${input.what}] rejected with ${res.status} but changed ${changed.join(', ')}`);
        }
      }
      if (/\n\s+at .+:\d+:\d+/.test(res.text) || /node_modules|\.ts:\d+/.test(res.text)) {
        r.stackTraces++;
        note(`${ep.method} ${ep.path} [${input.what}] answer carries a stack trace or source path`);
      }
      baseline = after;
    }
  }
}

/** Drain the API's audit buffers (DEK issuance tallies, batched audit writes) and snapshot every table. */
async function settledSnapshot(stack: HardeningStack): Promise<DbSnapshot> {
  const s = stack.api.services;
  s.issuance.flush(true);
  await s.auditBuffer.flush();
  await s.audit.drain();
  return stack.inspector.snapshot();
}

function tokenFor(ep: FuzzEndpoint, stack: HardeningStack, t: SeededTenant): string | undefined {
  if (ep.security === 'operator') return stack.operatorToken;
  if (ep.security === 'service') return t.tokens.service;
  if (ep.security === 'admin') return t.tokens.keyAdmin;
  return undefined;
}

function validPathValue(ep: Endpoint, name: string, t: SeededTenant): string {
  switch (paramKind(ep.path, name)) {
    case 'tenant':
      return t.id;
    case 'workspace':
      return t.workspaceId;
    case 'keyConfiguration':
      return t.keyConfigurationId;
    case 'operation':
      return t.operationId;
    case 'adminUser':
      return t.spareAdminUserId;
    case 'invitation':
      return t.invitationId;
    case 'mfaFactor':
      return t.mfaFactorId;
    case 'segment':
      return `fz-${randomBytes(3).toString('hex')}`;
    case 'servicePrincipal':
      return t.spareServicePrincipalId;
    case 'secret':
      return t.spareSecretId;
    case 'siemDestination':
      return t.spareSiemDestinationId;
    case 'bulkOperation':
      return t.bulkOperationId;
    default:
      return t.id;
  }
}

function buildPath(ep: Endpoint, input: FuzzInput): string {
  const p = ep.path.replace(/\{([^}]+)\}/g, (_m, name: string) =>
    input.rawPath ? input.pathValues[name] : encodeSegment(input.pathValues[name]),
  );
  return input.query ? `${p}?${input.query}` : p;
}

/** A well-formed body for the endpoint (the shared table, a few bodies fuller); mutations start from it. */
function template(ep: FuzzEndpoint, t: SeededTenant): Record<string, unknown> | null {
  const n = randomBytes(3).toString('hex');
  const base = wellFormedBody(ep.bodySchemaRef, t, 'fz');
  switch (ep.bodySchemaRef) {
    case 'TokenRequest':
      // the internal listener takes only the services' grant: start from one (an unknown client)
      if (ep.listener === 'internal')
        return { grant_type: 'client_credentials', client_id: `fz-client-${n}`, client_secret: 'not-the-secret' };
      return {
        grant_type: 'password',
        tenant_id: t.id,
        username: `nobody-${n}@example.com`,
        password: 'not-the-password',
      };
    case 'UpdateAdminUser':
      return { ...base, disabled: false };
    case 'RegisterKeyConfiguration':
      return {
        ...base,
        azure: { keyId: 'https://v.vault.azure.net/keys/k', tenantId: 'x' },
        gcp: {
          keyName: 'projects/p/locations/l/keyRings/r/cryptoKeys/k',
          serviceAccount: 'sa@p.iam.gserviceaccount.com',
        },
      };
    case 'UpdateServicePrincipal':
      return { ...base, disabled: false, ipAllowList: ['10.0.0.0/8', '2001:db8::/32'] };
    case 'SsoConfigurationInput':
      return { ...base, groupsClaim: 'groups', ssoRequired: false, breakGlassAdminUserId: null };
    case 'DestroyWorkspace':
      // Never the workspace's name: a fuzzed DELETE must be refused (400) and change nothing.
      return { confirm: `fz-not-the-name-${n}` };
    default:
      return base ?? (ep.hasBody ? {} : null);
  }
}

/** Dotted paths of every leaf of a template object. */
function leaves(o: unknown, prefix: string[] = []): string[][] {
  if (!o || typeof o !== 'object') return [prefix];
  if (Array.isArray(o)) return o.length ? o.flatMap((v, i) => leaves(v, [...prefix, String(i)])) : [prefix];
  return Object.entries(o).flatMap(([k, v]) => leaves(v, [...prefix, k]));
}

function setAt(o: any, path: string[], value: unknown, remove = false): any {
  const copy = structuredClone(o);
  let cur = copy;
  for (const k of path.slice(0, -1)) cur = cur[k];
  const last = path[path.length - 1];
  if (remove) {
    if (Array.isArray(cur)) cur.splice(Number(last), 1);
    else delete cur[last];
  } else cur[last] = value;
  return copy;
}

/** JSON text with one extra member whose key may be `__proto__` (JSON.stringify would drop it). */
function withExtraMember(body: Record<string, unknown>, key: string, value: unknown, nested: boolean): string {
  const member = `${JSON.stringify(key)}:${JSON.stringify(value) ?? 'null'}`;
  const text = JSON.stringify(body);
  if (nested) {
    const firstObj = Object.entries(body).find(([, v]) => v && typeof v === 'object' && !Array.isArray(v));
    if (firstObj)
      return JSON.stringify({ ...body, [firstObj[0]]: '__X__' }).replace(
        '"__X__"',
        JSON.stringify(firstObj[1]).replace(/^\{/, `{${member}${Object.keys(firstObj[1] as object).length ? ',' : ''}`),
      );
  }
  return text === '{}' ? `{${member}}` : text.replace(/^\{/, `{${member},`);
}

function bodyBreakers(ep: FuzzEndpoint, t: SeededTenant): FuzzInput[] {
  const tpl = template(ep, t);
  if (!tpl) return [];
  const pathValues = Object.fromEntries(ep.pathParams.map((n) => [n, validPathValue(ep, n, t)]));
  const json = 'application/json';
  const cases: Array<[string | undefined, string | undefined, string]> = [
    ['{"name":', json, 'truncated JSON'],
    ['', json, 'empty body'],
    [withExtraMember(tpl, '__proto__', { admin: true }, false), json, 'extra member "__proto__"'],
    [withExtraMember(tpl, 'constructor', { prototype: { admin: true } }, false), json, 'extra member "constructor"'],
    [`${'['.repeat(20_000)}${']'.repeat(20_000)}`, json, 'deeply nested array'],
    [JSON.stringify({ ...tpl, pad: 'x'.repeat(1_200_000) }), json, 'over the body limit'],
    [JSON.stringify(tpl), 'text/plain', 'text/plain body'],
    [JSON.stringify(tpl), undefined, 'no content type'],
    ['[]', json, 'array body'],
    ['null', json, 'null body'],
  ];
  return cases.map(([body, contentType, what]) => ({
    pathValues,
    rawPath: false,
    query: '',
    body,
    contentType,
    what: `fixed: ${what}`,
  }));
}

function inputArbitrary(ep: FuzzEndpoint, t: SeededTenant): fc.Arbitrary<FuzzInput> {
  const tpl = template(ep, t);
  const paths = tpl ? leaves(tpl).filter((p) => p.length) : [];
  const pathValues = fc.record(
    Object.fromEntries(
      ep.pathParams.map((name) => [
        name,
        fc.oneof(
          { arbitrary: fc.constant(validPathValue(ep, name, t)), weight: 2 },
          { arbitrary: hostileString, weight: 1 },
        ),
      ]),
    ),
  );
  const query = fc.oneof(
    { arbitrary: fc.constant(''), weight: 3 },
    {
      arbitrary: fc
        .tuple(
          fc.constantFrom(
            ...(ep.queryParams.length ? ep.queryParams : ['x']),
            ...PROTO_KEYS.map((k) => `${k}[polluted]`),
            'limit[]',
            'after[$ne]',
          ),
          hostileString,
        )
        .map(([k, v]) => `${encodeSegment(k)}=${encodeSegment(v)}`),
      weight: ep.queryParams.length ? 3 : 1,
    },
  );
  type Body = { body: string | undefined; contentType: string | undefined; what: string };
  const bodies: Array<{ arbitrary: fc.Arbitrary<Body>; weight: number }> = [];
  if (tpl) {
    const json = (body: string, what: string): Body => ({ body, contentType: 'application/json', what });
    if (paths.length) {
      bodies.push({
        arbitrary: fc
          .tuple(fc.constantFrom(...paths), hostileValue)
          .map(([p, v]) => json(JSON.stringify(setAt(tpl, p, v)), `${p.join('.')}=hostile`)),
        weight: 8,
      });
      bodies.push({
        arbitrary: fc
          .constantFrom(...paths)
          .map((p) => json(JSON.stringify(setAt(tpl, p, undefined, true)), `${p.join('.')} missing`)),
        weight: 2,
      });
    }
    bodies.push({
      arbitrary: fc
        .tuple(
          fc.oneof(fc.constantFrom(...PROTO_KEYS, 'externalId', 'ExternalId', 'tenantId', 'role', 'id'), hostileString),
          hostileValue,
          fc.boolean(),
        )
        .map(([k, v, nested]) =>
          json(withExtraMember(tpl, k, v, nested), `extra member ${JSON.stringify(k).slice(0, 30)}`),
        ),
      weight: 3,
    });
    bodies.push({
      arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => json(JSON.stringify(v) ?? 'null', 'arbitrary JSON')),
      weight: 2,
    });
    bodies.push({
      arbitrary: fc.constantFrom(
        json('{"name":', 'truncated JSON'),
        json('', 'empty body'),
        json(`${'['.repeat(20_000)}${']'.repeat(20_000)}`, 'deeply nested array'),
        json(`${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`, 'deeply nested object'),
        json(JSON.stringify({ ...tpl, pad: 'x'.repeat(1_200_000) }), 'over the body limit'),
        json('\uFEFF{}', 'BOM before JSON'),
        json('{"a":1,"a":2}', 'duplicate keys'),
        { body: JSON.stringify(tpl), contentType: 'text/plain', what: 'text/plain body' },
        { body: 'name=x&admin[email]=y', contentType: 'application/x-www-form-urlencoded', what: 'form body' },
        { body: JSON.stringify(tpl), contentType: 'application/json; charset=utf-16', what: 'utf-16 charset' },
        { body: JSON.stringify(tpl), contentType: undefined, what: 'no content type' },
      ),
      weight: 2,
    });
  } else {
    bodies.push({
      arbitrary: fc.constant<Body>({ body: undefined, contentType: undefined, what: 'no body' }),
      weight: 4,
    });
    bodies.push({
      arbitrary: fc
        .jsonValue({ maxDepth: 2 })
        .map((v) => ({ body: JSON.stringify(v) ?? 'null', contentType: 'application/json', what: 'unexpected body' })),
      weight: 1,
    });
  }
  return fc
    .record({
      pathValues,
      rawPath: fc.boolean().map((b) => b && ep.pathParams.length > 0),
      query,
      body: fc.oneof(...bodies),
    })
    .map(({ pathValues, rawPath, query, body }) => {
      // a raw (unencoded) path value only when it cannot break the URL syntax itself
      const raw = rawPath && Object.values(pathValues).every((v) => /^[\x21-\x7e]*$/.test(v) && !/[?#%]/.test(v));
      return {
        pathValues,
        rawPath: raw,
        query,
        body: body.body,
        contentType: body.contentType,
        what: `${body.what}${query ? ` ?${query.slice(0, 40)}` : ''}${raw ? ' raw-path' : ''}`,
      };
    });
}

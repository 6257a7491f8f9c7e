import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { EmulatorContext } from '../core/cloud';
import { sleep } from '../core/faults';
import { ciphertextVersion, openGcp, sealGcp } from './ciphertext';
import { compileCondition } from './conditions';
import { crc32c } from './crc32c';
import { allowed, type Caller, PERM, type Permission, type TokenRegistry } from './iam';
import { ID_RE, KEY_RE, LOCATION_RE, parseName, RING_RE, VERSION_RE } from './names';
import {
  type CryptoKeyRecord,
  emptyPolicy,
  type GcpState,
  type IamBinding,
  type IamPolicyState,
  type KeyRingRecord,
  SYMMETRIC_ALGORITHM,
  type VersionRecord,
} from './state';
import { denied, exists, GcpStatusError, invalid, notFound, precondition, statusName } from './status';

/** Request/response objects as @grpc/proto-loader decodes them (camelCase, enums as strings, int64 as strings). */
type Msg = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- proto-loader decodes to untyped objects

const MAX_DATA = 64 * 1024;
const DEFAULT_DESTROY_SCHEDULED_SECONDS = 30 * 24 * 3600;
const PURPOSES = new Set(['ENCRYPT_DECRYPT', 'ASYMMETRIC_SIGN', 'ASYMMETRIC_DECRYPT', 'MAC', 'RAW_ENCRYPT_DECRYPT']);
const MEMBER_RE =
  /^(?:serviceAccount|user|group|domain|principal|principalSet):[^\s]{1,320}$|^allUsers$|^allAuthenticatedUsers$/;

export type Handler = (req: Msg, caller: Caller) => Msg;

/**
 * The Cloud KMS methods the emulator serves, as functions of (request, caller) over GcpState, plus the gRPC
 * wiring that identifies the caller, applies injected faults and counts every call. Every method checks IAM
 * against the caller first (policies of the resource and its key ring), then existence, then state, so a caller
 * without access learns nothing about whether a resource exists (as in Cloud KMS).
 */
export class KmsService {
  private readonly now: () => number;

  constructor(
    private readonly ctx: EmulatorContext,
    private readonly state: GcpState,
    private readonly tokens: TokenRegistry,
    private readonly config: { ownerMember: string; now?: () => number },
  ) {
    this.now = config.now ?? Date.now;
  }

  private onChange(): void {
    this.ctx.persist();
  }

  /** gRPC implementation of google.cloud.kms.v1.KeyManagementService: every method, unimplemented ones included. */
  kmsHandlers(def: grpc.ServiceDefinition): grpc.UntypedServiceImplementation {
    return this.wire(def, this.handlers);
  }

  /** gRPC implementation of google.iam.v1.IAMPolicy (key rings and crypto keys). */
  iamHandlers(def: grpc.ServiceDefinition): grpc.UntypedServiceImplementation {
    return this.wire(def, this.iamMethods);
  }

  /** Admin: complete a scheduled destruction now (tests need not wait 30 days). */
  destroyNow(name: string): boolean {
    const m = VERSION_RE.exec(name);
    const key = m ? this.state.cryptoKeys.get(m[1]) : undefined;
    const v = key?.versions.find((x) => x.number === Number(m![m!.length - 1]));
    if (!key || !v) return false;
    // Like Cloud KMS, a destroyed primary stays primary: Encrypt then fails FAILED_PRECONDITION.
    this.changingVersions(key);
    destroyNow(v, this.now());
    this.onChange();
    return true;
  }

  private wire(def: grpc.ServiceDefinition, impl: Record<string, Handler>): grpc.UntypedServiceImplementation {
    const out: grpc.UntypedServiceImplementation = {};
    for (const [method, attrs] of Object.entries(def)) {
      const op = attrs.originalName ? capitalise(attrs.originalName) : method;
      const handler = impl[op];
      out[method] = (call: grpc.ServerUnaryCall<Msg, Msg>, callback: grpc.sendUnaryData<Msg>) => {
        void this.serve(op, handler, call, callback);
      };
    }
    return out;
  }

  private async serve(
    op: string,
    handler: Handler | undefined,
    call: grpc.ServerUnaryCall<Msg, Msg>,
    callback: grpc.sendUnaryData<Msg>,
  ): Promise<void> {
    const who = this.identify(call.metadata);
    const principal = who.caller?.member;
    const resource = resourceOf(call.request);
    const region = resource ? /\/locations\/([^/]+)/.exec(resource)?.[1] : undefined;
    const decision = this.ctx.faults.decide({ cloud: 'gcp', operation: op, keyId: resource, principal, region });
    await sleep(decision.delayMs);
    const record = (outcome: string) => this.ctx.counters.record('gcp', op, principal, outcome);
    const fail = (code: status, details: string) => {
      record(statusName(code));
      callback({ code, details, metadata: new grpc.Metadata() }, null);
    };
    switch (decision.fault) {
      case 'hang':
        // Never answer: the client's deadline ends the call; close() force-shuts the server.
        record('hang');
        return;
      case 'reset':
        record('reset');
        if (!dropConnection(call)) callback({ code: status.UNAVAILABLE, details: 'Connection reset by peer' }, null);
        return;
      case 'throttle':
        return fail(
          status.RESOURCE_EXHAUSTED,
          `Quota exceeded for quota metric 'Cryptographic requests' and limit 'Cryptographic requests per minute' of service 'cloudkms.googleapis.com'.`,
        );
      case 'error':
        return fail(status.UNAVAILABLE, 'The service is currently unavailable.');
      default:
        break;
    }
    if (!who.caller) return fail(status.UNAUTHENTICATED, who.problem);
    if (!handler)
      return fail(status.UNIMPLEMENTED, `Method ${op} is not implemented by the Keyhold Cloud KMS emulator.`);
    try {
      const response = handler(call.request, who.caller);
      record('ok');
      callback(null, response);
    } catch (err) {
      if (err instanceof GcpStatusError) return fail(err.code, err.message);
      fail(status.INTERNAL, 'Internal error encountered.');
    }
  }

  /**
   * The caller, from the OAuth bearer token in `authorization` metadata. No token at all acts as the customer
   * project's owner (so plain SDK clients can set keys up); an unknown or expired token is UNAUTHENTICATED.
   */
  private identify(md: grpc.Metadata): { caller: Caller; problem?: undefined } | { caller: null; problem: string } {
    const values = md.get('authorization');
    if (values.length === 0) return { caller: { member: this.config.ownerMember, owner: true } };
    const m = /^Bearer\s+(\S+)$/i.exec(String(values[0]));
    if (!m)
      return {
        caller: null,
        problem: 'Request had invalid authentication credentials. Expected OAuth 2 access token.',
      };
    const who = this.tokens.resolve(m[1]);
    if (who === null)
      return {
        caller: null,
        problem:
          'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
      };
    if (who === 'expired')
      return { caller: null, problem: 'Request had invalid authentication credentials: the access token has expired.' };
    return { caller: { member: who, owner: false } };
  }

  private readonly handlers: Record<string, Handler> = {
    CreateKeyRing: (req, caller) => {
      const parent = str(req.parent, 'parent');
      if (!LOCATION_RE.test(parent))
        throw invalid(`parent must be projects/{project}/locations/{location}, got ${describe(parent)}.`);
      if (!caller.owner) throw denied('cloudkms.keyRings.create', parent);
      const id = str(req.keyRingId, 'key_ring_id');
      if (!ID_RE.test(id)) throw invalid('key_ring_id must match [a-zA-Z0-9_-]{1,63}.');
      const name = `${parent}/keyRings/${id}`;
      if (this.state.keyRings.has(name)) throw exists(name);
      const ring: KeyRingRecord = { name, createTime: this.now(), policy: emptyPolicy() };
      this.state.keyRings.set(name, ring);
      this.onChange();
      return ringProto(ring);
    },

    GetKeyRing: (req, caller) => ringProto(this.ring(str(req.name, 'name'), caller, PERM.get)),

    CreateCryptoKey: (req, caller) => {
      const parent = str(req.parent, 'parent');
      const ring = this.ring(parent, caller, PERM.admin);
      const id = str(req.cryptoKeyId, 'crypto_key_id');
      if (!ID_RE.test(id)) throw invalid('crypto_key_id must match [a-zA-Z0-9_-]{1,63}.');
      const name = `${ring.name}/cryptoKeys/${id}`;
      if (this.state.cryptoKeys.has(name)) throw exists(name);
      const spec: Msg = req.cryptoKey ?? {};
      const purpose = spec.purpose && spec.purpose !== 'CRYPTO_KEY_PURPOSE_UNSPECIFIED' ? String(spec.purpose) : '';
      if (!PURPOSES.has(purpose)) throw invalid(`crypto_key.purpose must be one of ${[...PURPOSES].join(', ')}.`);
      const tmpl: Msg = spec.versionTemplate ?? {};
      let algorithm =
        tmpl.algorithm && tmpl.algorithm !== 'CRYPTO_KEY_VERSION_ALGORITHM_UNSPECIFIED' ? String(tmpl.algorithm) : '';
      if (purpose === 'ENCRYPT_DECRYPT') {
        algorithm ||= SYMMETRIC_ALGORITHM;
        if (algorithm !== SYMMETRIC_ALGORITHM)
          throw invalid(`ENCRYPT_DECRYPT keys need algorithm ${SYMMETRIC_ALGORITHM}.`);
      } else if (!algorithm) {
        throw invalid(`crypto_key.version_template.algorithm is required for purpose ${purpose}.`);
      }
      const destroyScheduled = spec.destroyScheduledDuration ? Number(spec.destroyScheduledDuration.seconds ?? 0) : 0;
      const key: CryptoKeyRecord = {
        name,
        purpose,
        algorithm,
        protectionLevel:
          tmpl.protectionLevel && tmpl.protectionLevel !== 'PROTECTION_LEVEL_UNSPECIFIED'
            ? String(tmpl.protectionLevel)
            : 'SOFTWARE',
        primary: null,
        nextVersion: 1,
        versions: [],
        createTime: this.now(),
        labels: { ...(spec.labels ?? {}) },
        destroyScheduledSeconds: destroyScheduled > 0 ? destroyScheduled : DEFAULT_DESTROY_SCHEDULED_SECONDS,
        policy: emptyPolicy(),
      };
      if (!req.skipInitialVersionCreation) {
        const v = this.state.newVersion(key, this.now());
        // Only symmetric keys have a primary version.
        if (purpose === 'ENCRYPT_DECRYPT') key.primary = v.number;
      }
      this.state.cryptoKeys.set(name, key);
      this.onChange();
      return keyProto(key);
    },

    GetCryptoKey: (req, caller) => keyProto(this.key(str(req.name, 'name'), caller, PERM.get)),

    ListCryptoKeyVersions: (req, caller) => {
      const key = this.key(str(req.parent, 'parent'), caller, PERM.get);
      if (req.filter) throw invalid('filter is not supported by this emulator.');
      const all = key.versions.map((v) => versionProto(key, v));
      const start = req.pageToken ? Number(req.pageToken) : 0;
      if (!Number.isInteger(start) || start < 0 || start > all.length) throw invalid('page_token is invalid.');
      const size = Number(req.pageSize) > 0 ? Math.min(Number(req.pageSize), 1000) : 1000;
      const page = all.slice(start, start + size);
      const next = start + size < all.length ? String(start + size) : '';
      return { cryptoKeyVersions: page, nextPageToken: next, totalSize: all.length };
    },

    GetCryptoKeyVersion: (req, caller) => {
      const { key, version } = this.version(str(req.name, 'name'), caller, PERM.get);
      return versionProto(key, version);
    },

    CreateCryptoKeyVersion: (req, caller) => {
      const key = this.key(str(req.parent, 'parent'), caller, PERM.admin);
      const v = this.state.newVersion(key, this.now());
      this.onChange();
      return versionProto(key, v);
    },

    UpdateCryptoKeyPrimaryVersion: (req, caller) => {
      const key = this.key(str(req.name, 'name'), caller, PERM.admin);
      if (key.purpose !== 'ENCRYPT_DECRYPT')
        throw precondition(`${key.name} has purpose ${key.purpose}: only ENCRYPT_DECRYPT keys have a primary version.`);
      const id = str(req.cryptoKeyVersionId, 'crypto_key_version_id');
      const v = /^[1-9]\d{0,9}$/.test(id) ? key.versions.find((x) => x.number === Number(id)) : undefined;
      if (!v) throw notFound(`${key.name}/cryptoKeyVersions/${id}`);
      if (v.state !== 'ENABLED')
        throw precondition(`${versionName(key, v)} is not enabled, current state is: ${v.state}.`);
      key.primary = v.number;
      this.onChange();
      return keyProto(key);
    },

    UpdateCryptoKeyVersion: (req, caller) => {
      const body: Msg = req.cryptoKeyVersion ?? {};
      const paths: string[] = req.updateMask?.paths ?? [];
      if (paths.length !== 1 || paths[0] !== 'state')
        throw invalid('update_mask must be exactly ["state"]: only the state can be updated.');
      const { key, version } = this.version(str(body.name, 'crypto_key_version.name'), caller, PERM.admin);
      const target = String(body.state ?? '');
      if (target !== 'ENABLED' && target !== 'DISABLED')
        throw invalid('crypto_key_version.state must be ENABLED or DISABLED.');
      if (version.state !== 'ENABLED' && version.state !== 'DISABLED')
        throw precondition(
          `${versionName(key, version)} cannot be ${target.toLowerCase()}, current state is: ${version.state}.`,
        );
      this.changingVersions(key);
      version.state = target;
      this.onChange();
      return versionProto(key, version);
    },

    DestroyCryptoKeyVersion: (req, caller) => {
      const { key, version } = this.version(str(req.name, 'name'), caller, PERM.admin);
      if (version.state !== 'ENABLED' && version.state !== 'DISABLED')
        throw precondition(`${versionName(key, version)} cannot be destroyed, current state is: ${version.state}.`);
      this.changingVersions(key);
      version.state = 'DESTROY_SCHEDULED';
      version.destroyTime = this.now() + key.destroyScheduledSeconds * 1000;
      this.onChange();
      return versionProto(key, version);
    },

    RestoreCryptoKeyVersion: (req, caller) => {
      const { key, version } = this.version(str(req.name, 'name'), caller, PERM.admin);
      if (version.state !== 'DESTROY_SCHEDULED')
        throw precondition(`${versionName(key, version)} cannot be restored, current state is: ${version.state}.`);
      this.changingVersions(key);
      version.state = 'DISABLED';
      version.destroyTime = null;
      this.onChange();
      return versionProto(key, version);
    },

    Encrypt: (req, caller) => {
      const name = str(req.name, 'name');
      const parsed = parseName(name);
      if (!parsed || parsed.kind === 'keyRing')
        throw invalid(`name must be a CryptoKey or CryptoKeyVersion, got ${describe(name)}.`);
      const key = this.key(parsed.key, caller, PERM.encrypt, name);
      if (key.purpose !== 'ENCRYPT_DECRYPT') throw wrongPurpose(key);
      let version: VersionRecord | undefined;
      if (parsed.kind === 'version') {
        version = key.versions.find((v) => v.number === parsed.version);
        if (!version) throw notFound(name);
      } else {
        if (key.primary === null) throw precondition(`${key.name} has no primary version.`);
        version = key.versions.find((v) => v.number === key.primary);
      }
      if (!version) throw precondition(`${key.name} has no primary version.`);
      const plaintext = bytes(req.plaintext);
      const aad = bytes(req.additionalAuthenticatedData);
      if (plaintext.length === 0) throw invalid('plaintext is required.');
      if (plaintext.length > MAX_DATA) throw invalid(`plaintext is larger than ${MAX_DATA} bytes.`);
      if (aad.length > MAX_DATA) throw invalid(`additional_authenticated_data is larger than ${MAX_DATA} bytes.`);
      checkCrc(req.plaintextCrc32c, plaintext, 'plaintext');
      checkCrc(req.additionalAuthenticatedDataCrc32c, aad, 'additional_authenticated_data');
      this.usable(key, version);
      const ciphertext = sealGcp(Buffer.from(version.material!, 'base64'), key.name, version.number, plaintext, aad);
      return {
        name: versionName(key, version),
        ciphertext,
        ciphertextCrc32c: { value: String(crc32c(ciphertext)) },
        verifiedPlaintextCrc32c: isSet(req.plaintextCrc32c),
        verifiedAdditionalAuthenticatedDataCrc32c: isSet(req.additionalAuthenticatedDataCrc32c),
        protectionLevel: key.protectionLevel,
      };
    },

    Decrypt: (req, caller) => {
      const name = str(req.name, 'name');
      if (!KEY_RE.test(name)) throw invalid(`name must be a CryptoKey (no version), got ${describe(name)}.`);
      const key = this.key(name, caller, PERM.decrypt);
      if (key.purpose !== 'ENCRYPT_DECRYPT') throw wrongPurpose(key);
      const ciphertext = bytes(req.ciphertext);
      const aad = bytes(req.additionalAuthenticatedData);
      if (ciphertext.length === 0) throw invalid('ciphertext is required.');
      if (ciphertext.length > 2 * MAX_DATA) throw invalid('ciphertext is too large.');
      checkCrc(req.ciphertextCrc32c, ciphertext, 'ciphertext');
      checkCrc(req.additionalAuthenticatedDataCrc32c, aad, 'additional_authenticated_data');
      const number = ciphertextVersion(ciphertext);
      const version = number === null ? undefined : key.versions.find((v) => v.number === number);
      if (!version) throw invalid('Decryption failed: the ciphertext is invalid.');
      this.usable(key, version);
      const plaintext = openGcp(Buffer.from(version.material!, 'base64'), key.name, ciphertext, aad);
      if (!plaintext)
        throw invalid('Decryption failed: verify that the ciphertext and additional authenticated data are correct.');
      return {
        plaintext,
        plaintextCrc32c: { value: String(crc32c(plaintext)) },
        usedPrimary: version.number === key.primary,
        protectionLevel: key.protectionLevel,
      };
    },
  };

  /** google.iam.v1.IAMPolicy on key rings and crypto keys. */
  private readonly iamMethods: Record<string, Handler> = {
    GetIamPolicy: (req, caller) =>
      policyProto(this.policyHolder(str(req.resource, 'resource'), caller, PERM.getIam).policy),
    SetIamPolicy: (req, caller) => {
      const holder = this.policyHolder(str(req.resource, 'resource'), caller, PERM.setIam);
      const policy: Msg = req.policy ?? {};
      const etag = bytes(policy.etag);
      if (etag.length > 0 && !etag.equals(etagOf(holder.policy)))
        throw new GcpStatusError(
          status.ABORTED,
          'There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.',
        );
      const version = Number(policy.version) || 1;
      const bindings = parseBindings((policy.bindings ?? []) as Msg[], version);
      this.ctx.propagation?.changing('gcp', `policy:${str(req.resource, 'resource')}`, holder.policy.bindings);
      holder.policy.bindings = bindings;
      holder.policy.version = bindings.some((b) => b.condition) ? 3 : version;
      holder.policy.serial++;
      this.onChange();
      return policyProto(holder.policy);
    },
  };

  // ------------------------------------------------------------------ resolution + IAM

  private ring(name: string, caller: Caller, perm: Permission): KeyRingRecord {
    if (!RING_RE.test(name))
      throw invalid(`${describe(name)} is not a KeyRing name (projects/{p}/locations/{l}/keyRings/{r}).`);
    const ring = this.state.keyRings.get(name);
    const policies = [this.seen(name, ring?.policy), this.projectPolicy(name)].filter(
      (p): p is { bindings: IamBinding[] } => !!p,
    );
    if (!allowed(caller, perm, policies, { resourceName: name, now: this.now() })) throw denied(perm, name);
    if (!ring) throw notFound(name);
    return ring;
  }

  /** A policy's bindings as this read sees them (older ones while a change propagates, when switched on). */
  private seen(resource: string, policy: IamPolicyState | undefined): { bindings: IamBinding[] } | undefined {
    if (!policy) return undefined;
    const p = this.ctx.propagation;
    return p ? { bindings: p.view('gcp', `policy:${resource}`, policy.bindings) } : policy;
  }

  /** The project-level policy above a resource (Resource Manager's, inherited by key rings and keys). */
  private projectPolicy(resource: string): { bindings: IamBinding[] } | undefined {
    const project = /^projects\/([^/]+)\//.exec(resource)?.[1];
    return project ? this.seen(`projects/${project}`, this.state.projectPolicies.get(project)) : undefined;
  }

  /** Set a project's IAM policy (admin API; Resource Manager is not emulated). Same binding rules as SetIamPolicy. */
  setProjectPolicy(project: string, bindings: Msg[], version: number): IamPolicyState {
    const parsed = parseBindings(bindings, version);
    const current = this.state.projectPolicies.get(project) ?? emptyPolicy();
    this.ctx.propagation?.changing('gcp', `policy:projects/${project}`, current.bindings);
    current.bindings = parsed;
    current.version = parsed.some((b) => b.condition) ? 3 : version;
    current.serial++;
    this.state.projectPolicies.set(project, current);
    this.onChange();
    return current;
  }

  private changingVersions(key: CryptoKeyRecord): void {
    this.ctx.propagation?.changing(
      'gcp',
      `versions:${key.name}`,
      Object.fromEntries(key.versions.map((v) => [v.number, v.state])),
    );
  }

  /** A version may serve Encrypt/Decrypt: ENABLED (as this read sees its state) with its material. */
  private usable(key: CryptoKeyRecord, v: VersionRecord): void {
    const current = Object.fromEntries(key.versions.map((x) => [x.number, x.state])) as Record<number, string>;
    const seen = this.ctx.propagation
      ? (this.ctx.propagation.view('gcp', `versions:${key.name}`, current)[v.number] ?? v.state)
      : v.state;
    if (seen !== 'ENABLED' || !v.material)
      throw precondition(
        `${versionName(key, v)} is not enabled, current state is: ${seen === 'ENABLED' ? v.state : seen}.`,
      );
  }

  /** A CryptoKey, after IAM (key policy, then inherited key-ring policy); `resource` names it in errors. */
  private key(name: string, caller: Caller, perm: Permission, resource = name): CryptoKeyRecord {
    const m = KEY_RE.exec(name);
    if (!m)
      throw invalid(
        `${describe(name)} is not a CryptoKey name (projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys/{k}).`,
      );
    const ring = this.state.keyRings.get(m[1]);
    const key = this.state.cryptoKeys.get(name);
    const policies = [this.seen(name, key?.policy), this.seen(m[1], ring?.policy), this.projectPolicy(name)].filter(
      (p): p is { bindings: IamBinding[] } => !!p,
    );
    if (!allowed(caller, perm, policies, { resourceName: name, now: this.now() })) throw denied(perm, resource);
    if (!key) throw notFound(name);
    this.settle(key);
    return key;
  }

  private version(name: string, caller: Caller, perm: Permission): { key: CryptoKeyRecord; version: VersionRecord } {
    const m = VERSION_RE.exec(name);
    if (!m) throw invalid(`${describe(name)} is not a CryptoKeyVersion name.`);
    const key = this.key(m[1], caller, perm, name);
    const version = key.versions.find((v) => v.number === Number(m[m.length - 1]));
    if (!version) throw notFound(name);
    return { key, version };
  }

  private policyHolder(resource: string, caller: Caller, perm: Permission): { policy: IamPolicyState } {
    if (RING_RE.test(resource)) return this.ring(resource, caller, perm);
    if (KEY_RE.test(resource)) return this.key(resource, caller, perm);
    throw invalid(`resource must be a KeyRing or CryptoKey name, got ${describe(resource)}.`);
  }

  /** Versions whose scheduled destruction time has passed become DESTROYED, and their material is dropped. */
  private settle(key: CryptoKeyRecord): void {
    const now = this.now();
    let changed = false;
    for (const v of key.versions) {
      if (v.state === 'DESTROY_SCHEDULED' && v.destroyTime !== null && v.destroyTime <= now) {
        destroyNow(v, now);
        changed = true;
      }
    }
    if (changed) this.onChange();
  }
}

/** Completes a version's destruction: the key material is gone for good. */
export function destroyNow(v: VersionRecord, now: number): void {
  v.state = 'DESTROYED';
  v.material = null;
  v.destroyTime = v.destroyTime !== null && v.destroyTime < now ? v.destroyTime : now;
}

/**
 * Encrypt/Decrypt on a key whose purpose is not ENCRYPT_DECRYPT: Cloud KMS answers FAILED_PRECONDITION naming the
 * key's purpose (the key exists and the caller may use it; it is in no state to serve this method).
 */
function wrongPurpose(key: CryptoKeyRecord): GcpStatusError {
  return precondition(
    `${key.name} has incorrect key purpose: ${key.purpose}; expected key purpose is: ENCRYPT_DECRYPT.`,
  );
}

function checkCrc(field: Msg | null | undefined, data: Buffer, label: string): void {
  if (!isSet(field)) return;
  const sent = Number(field!.value);
  if (!Number.isInteger(sent) || sent < 0 || sent > 0xffffffff || sent !== crc32c(data))
    throw invalid(`The checksum in field ${label}_crc32c did not match the data in field ${label}.`);
}

function isSet(field: Msg | null | undefined): boolean {
  return field !== null && field !== undefined && field.value !== undefined && field.value !== null;
}

function str(v: unknown, field: string): string {
  if (typeof v !== 'string' || v === '') throw invalid(`${field} is required.`);
  return v;
}

function bytes(v: unknown): Buffer {
  if (v === null || v === undefined) return Buffer.alloc(0);
  return Buffer.isBuffer(v) ? v : Buffer.from(v as Uint8Array);
}

/** Resource names echoed in errors are clipped: they are caller input. */
function describe(v: string): string {
  return JSON.stringify(v.length > 200 ? `${v.slice(0, 200)}…` : v);
}

function versionName(key: CryptoKeyRecord, v: VersionRecord): string {
  return `${key.name}/cryptoKeyVersions/${v.number}`;
}

function ts(ms: number): Msg {
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

function ringProto(r: KeyRingRecord): Msg {
  return { name: r.name, createTime: ts(r.createTime) };
}

function versionProto(key: CryptoKeyRecord, v: VersionRecord): Msg {
  return {
    name: versionName(key, v),
    state: v.state,
    protectionLevel: key.protectionLevel,
    algorithm: v.algorithm,
    createTime: ts(v.createTime),
    generateTime: ts(v.createTime),
    ...(v.destroyTime !== null ? { destroyTime: ts(v.destroyTime) } : {}),
    ...(v.state === 'DESTROYED' && v.destroyTime !== null ? { destroyEventTime: ts(v.destroyTime) } : {}),
  };
}

function keyProto(key: CryptoKeyRecord): Msg {
  const primary = key.primary !== null ? key.versions.find((v) => v.number === key.primary) : undefined;
  return {
    name: key.name,
    purpose: key.purpose,
    createTime: ts(key.createTime),
    ...(primary ? { primary: versionProto(key, primary) } : {}),
    versionTemplate: { protectionLevel: key.protectionLevel, algorithm: key.algorithm },
    labels: key.labels,
    destroyScheduledDuration: { seconds: String(key.destroyScheduledSeconds), nanos: 0 },
  };
}

function etagOf(p: IamPolicyState): Buffer {
  return createHash('sha256').update(`policy:${p.serial}`).digest().subarray(0, 8);
}

function policyProto(p: IamPolicyState): Msg {
  return {
    version: p.version,
    bindings: p.bindings.map((b) => ({
      role: b.role,
      members: [...b.members],
      ...(b.condition ? { condition: { ...b.condition } } : {}),
    })),
    etag: etagOf(p),
    auditConfigs: [],
  };
}

/**
 * Bindings of a SetIamPolicy request. As in IAM, a binding with a condition needs policy version 3, and an
 * expression the emulator cannot evaluate is refused (INVALID_ARGUMENT) rather than stored and read as false.
 */
export function parseBindings(raw: Msg[], version: number): IamBinding[] {
  const bindings: IamBinding[] = [];
  for (const b of raw) {
    const role = String(b.role ?? '');
    if (!/^roles\/[A-Za-z0-9_.]+$/.test(role)) throw invalid(`binding role ${describe(role)} is not a role name.`);
    const members = ((b.members ?? []) as unknown[]).map(String);
    for (const m of members)
      if (!MEMBER_RE.test(m)) throw invalid(`binding member ${describe(m)} is not a valid IAM member.`);
    let condition: IamBinding['condition'];
    if (b.condition && (b.condition.expression || b.condition.title)) {
      if (version !== 3) throw invalid('Policies with conditional role bindings must specify version 3.');
      const expression = String(b.condition.expression ?? '');
      const compiled = compileCondition(expression);
      if (!compiled.ok) throw invalid(`Invalid condition: ${compiled.problem}`);
      condition = {
        expression,
        ...(b.condition.title ? { title: String(b.condition.title) } : {}),
        ...(b.condition.description ? { description: String(b.condition.description) } : {}),
      };
    }
    if (members.length > 0)
      bindings.push({ role, members: [...new Set(members)], ...(condition ? { condition } : {}) });
  }
  return bindings;
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The resource a request is about, for fault matching. */
function resourceOf(req: Msg | undefined): string | undefined {
  if (!req) return undefined;
  for (const v of [req.name, req.parent, req.resource, req.cryptoKeyVersion?.name, req.location])
    if (typeof v === 'string' && v) return v;
  return undefined;
}

/**
 * "reset" fault: tear down the HTTP/2 session under the call, so the client sees a dropped connection. grpc-js
 * exposes no public handle for it, so this walks its call objects to the http2 stream (best effort); when that
 * shape changes, the caller falls back to UNAVAILABLE, which is what a client observes after a reset anyway.
 */
function dropConnection(call: unknown): boolean {
  let node = (call as { call?: unknown }).call as Record<string, unknown> | undefined;
  for (let depth = 0; node && depth < 5; depth++) {
    const stream = node.stream as { session?: { destroy(): void } } | undefined;
    if (stream?.session) {
      stream.session.destroy();
      return true;
    }
    node = node.nextCall as Record<string, unknown> | undefined;
  }
  return false;
}

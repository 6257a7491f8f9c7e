import type { SiemAuditEvent, SiemFormat } from '@app/persistence';

/**
 * Field mappings of one audit record (docs/AUDIT.md "Field mappings"). Every mapping carries the dedup id
 * `<tenantId>:<seq>`: the same record delivered twice (at-least-once) has the same id.
 */
export function dedupId(tenantId: string, seq: number): string {
  return `${tenantId}:${seq}`;
}

export function mapEvent(format: SiemFormat, tenantId: string, e: SiemAuditEvent): unknown {
  if (format === 'cef') return toCef(tenantId, e);
  if (format === 'ocsf') return toOcsf(tenantId, e);
  return toNative(tenantId, e);
}

export function toNative(tenantId: string, e: SiemAuditEvent) {
  return {
    id: dedupId(tenantId, e.seq),
    tenantId,
    seq: e.seq,
    at: new Date(e.at).toISOString(),
    actor: e.actor,
    action: e.action,
    target: e.target,
    outcome: e.outcome,
    details: e.details ?? {},
    hash: e.hash,
  };
}

// ---- CEF (ArcSight Common Event Format, revision 25) ----

const cefHeader = (v: string) =>
  v
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/[\r\n]+/g, ' ');
const cefValue = (v: string) =>
  v
    .replace(/\\/g, '\\\\')
    .replace(/=/g, '\\=')
    .replace(/\r?\n|\r/g, '\\n');

function cefSeverity(e: SiemAuditEvent): number {
  if (/destroyed|shred|deleted|revoked/.test(e.action)) return 7;
  if (e.outcome !== 'success') return 5;
  return 3;
}

export function toCef(tenantId: string, e: SiemAuditEvent): string {
  const ext: Array<[string, string]> = [
    ['externalId', dedupId(tenantId, e.seq)],
    ['rt', String(new Date(e.at).getTime())],
    ['act', e.action],
    ['suser', e.actor],
    ['outcome', e.outcome],
    ['cs1Label', 'target'],
    ['cs1', e.target],
    ['cs2Label', 'tenantId'],
    ['cs2', tenantId],
    ['cn1Label', 'seq'],
    ['cn1', String(e.seq)],
    ['cs3Label', 'details'],
    ['cs3', JSON.stringify(e.details ?? {})],
    ['cs4Label', 'hash'],
    ['cs4', e.hash],
  ];
  return `CEF:0|Keyhold|Keyhold|1|${cefHeader(e.action)}|${cefHeader(e.action)}|${cefSeverity(e)}|${ext.map(([k, v]) => `${k}=${cefValue(v)}`).join(' ')}`;
}

// ---- OCSF 1.1.0 ----

/** Changes to the tenant's identities (admin users, invitations, service principals): OCSF Account Change. */
const ACCOUNT_PREFIXES = ['admin_user.', 'invitation.', 'service_principal.'];

const ACCOUNT_ACTIVITY: Array<[RegExp, number, string]> = [
  [/\.(created|invited)$/, 1, 'Create'],
  [/\.accepted$/, 2, 'Enable'],
  [/\.(password_changed|secret_rotated)$/, 3, 'Password Change'],
  [/\.password_reset$/, 4, 'Password Reset'],
  [/\.disabled$/, 5, 'Disable'],
  [/\.(deleted|revoked|secret_revoked)$/, 6, 'Delete'],
  [/\.permissions_changed$/, 7, 'Attach Policy'],
];

const API_ACTIVITY: Array<[RegExp, number, string]> = [
  [/\.(created|registered|requested|issued)$/, 1, 'Create'],
  [/^kms\.[a-z]+\.(decrypt|describe|get|unwrap|unwrapkey|getkey|describekey)/i, 2, 'Read'],
  [/\.(deleted|destroyed|shredded)$/, 4, 'Delete'],
  [
    /\.(updated|bound|rekeyed|kek_rotated|cmk_rewrapped|reinstated|validated|changed|secret_rotated|retried)$/,
    3,
    'Update',
  ],
];

function activity(table: Array<[RegExp, number, string]>, action: string): [number, string] {
  for (const [re, id, name] of table) if (re.test(action)) return [id, name];
  return [99, 'Other'];
}

export function toOcsf(tenantId: string, e: SiemAuditEvent) {
  const account = ACCOUNT_PREFIXES.some((p) => e.action.startsWith(p));
  const [classUid, className, categoryUid, categoryName] = account
    ? [3001, 'Account Change', 3, 'Identity & Access Management']
    : [6003, 'API Activity', 6, 'Application Activity'];
  const [activityId, activityName] = activity(account ? ACCOUNT_ACTIVITY : API_ACTIVITY, e.action);
  const success = e.outcome === 'success';
  const details = e.details ?? {};
  const [targetType, ...rest] = e.target.split(':');
  const base = {
    class_uid: classUid,
    class_name: className,
    category_uid: categoryUid,
    category_name: categoryName,
    activity_id: activityId,
    activity_name: activityName,
    type_uid: classUid * 100 + activityId,
    type_name: `${className}: ${activityName}`,
    time: new Date(e.at).getTime(),
    severity_id: success ? 1 : 3,
    severity: success ? 'Informational' : 'Medium',
    status_id: success ? 1 : 2,
    status: success ? 'Success' : 'Failure',
    ...(success ? {} : { status_detail: e.outcome }),
    message: e.action,
    metadata: {
      version: '1.1.0',
      uid: dedupId(tenantId, e.seq),
      sequence: e.seq,
      tenant_uid: tenantId,
      log_name: 'keyhold-audit',
      product: { name: 'Keyhold', vendor_name: 'Keyhold' },
    },
    actor: { user: { uid: e.actor, name: e.actor } },
    unmapped: { details, hash: e.hash, target: e.target },
  };
  if (account) return { ...base, user: { uid: rest.length ? rest.join(':') : e.target, type: targetType } };
  const ip =
    typeof details.ip === 'string' ? details.ip : typeof details.sourceIp === 'string' ? details.sourceIp : undefined;
  return {
    ...base,
    api: { operation: e.action, service: { name: e.action.startsWith('kms.') ? e.action.split('.')[1] : 'keyhold' } },
    src_endpoint: ip ? { ip } : { svc_name: e.actor.split(':')[0] },
    resources: [{ uid: rest.length ? rest.join(':') : e.target, type: targetType }],
  };
}

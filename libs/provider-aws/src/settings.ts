import { parseVendorPrincipalArn, PARTITIONS } from './identifiers';

/** How Keyhold reaches AWS. Validated once at boot; never holds tenant input. */
export interface AwsProviderSettings {
  /** Region of the STS client (and default region). KMS calls use the region of each key ARN. */
  region: string;
  /** Override for KMS (emulator, VPC endpoint). Never tenant-supplied. */
  kmsEndpoint?: string;
  /** Override for STS (emulator, VPC endpoint). Never tenant-supplied. */
  stsEndpoint?: string;
  /** Keyhold's own credentials; when absent the SDK default chain (instance/task role) is used. */
  vendorCredentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** The principal tenants trust in their role's trust policy (user or role ARN, or account root). */
  vendorPrincipalArn: string;
  /** SDK attempts per call (1 = no retry). */
  maxAttempts: number;
  /** Per-request socket timeout. */
  requestTimeoutMs: number;
  /** Partitions tenant key/role ARNs may name. */
  allowedPartitions: string[];
}

const REGION_RE = /^[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;

function endpoint(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new Error(`${name} must be an absolute http(s) URL, got an unparsable value`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    throw new Error(`${name} must use https (or http for a local emulator)`);
  if (u.username || u.password) throw new Error(`${name} must not carry credentials`);
  if (u.search || u.hash) throw new Error(`${name} must not have a query or fragment`);
  return raw.replace(/\/+$/, '');
}

function intIn(env: NodeJS.ProcessEnv, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be an integer between ${min} and ${max}`);
  const n = Number(raw);
  if (n < min || n > max) throw new Error(`${name} must be an integer between ${min} and ${max}`);
  return n;
}

/**
 * Reads KEYHOLD_AWS_* variables: REGION (default us-east-1), KMS_ENDPOINT, STS_ENDPOINT, ACCESS_KEY_ID +
 * SECRET_ACCESS_KEY (+ SESSION_TOKEN) — both or neither, no defaults —, VENDOR_PRINCIPAL_ARN (required),
 * MAX_ATTEMPTS (1-10, default 3), REQUEST_TIMEOUT_MS (100-120000, default 5000), ALLOWED_PARTITIONS (comma
 * list of aws, aws-cn, aws-us-gov; default aws). A bad value throws an Error naming the variable.
 */
export function loadAwsSettings(env: NodeJS.ProcessEnv): AwsProviderSettings {
  const region = env.KEYHOLD_AWS_REGION || 'us-east-1';
  if (!REGION_RE.test(region)) throw new Error(`KEYHOLD_AWS_REGION must be an AWS region such as us-east-1`);

  const accessKeyId = env.KEYHOLD_AWS_ACCESS_KEY_ID || undefined;
  const secretAccessKey = env.KEYHOLD_AWS_SECRET_ACCESS_KEY || undefined;
  const sessionToken = env.KEYHOLD_AWS_SESSION_TOKEN || undefined;
  if (!!accessKeyId !== !!secretAccessKey)
    throw new Error(
      'KEYHOLD_AWS_ACCESS_KEY_ID and KEYHOLD_AWS_SECRET_ACCESS_KEY must be set together (or neither, to use the default credential chain)',
    );
  if (accessKeyId && !/^[A-Z0-9]{16,128}$/.test(accessKeyId))
    throw new Error('KEYHOLD_AWS_ACCESS_KEY_ID must be 16-128 upper-case letters or digits');
  if (sessionToken && !accessKeyId)
    throw new Error('KEYHOLD_AWS_SESSION_TOKEN needs KEYHOLD_AWS_ACCESS_KEY_ID and KEYHOLD_AWS_SECRET_ACCESS_KEY');

  const partitionsRaw = env.KEYHOLD_AWS_ALLOWED_PARTITIONS || 'aws';
  const allowedPartitions = partitionsRaw
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (allowedPartitions.length === 0 || !allowedPartitions.every((p) => (PARTITIONS as readonly string[]).includes(p)))
    throw new Error(`KEYHOLD_AWS_ALLOWED_PARTITIONS must be a comma-separated list of ${PARTITIONS.join(', ')}`);

  const vendorRaw = env.KEYHOLD_AWS_VENDOR_PRINCIPAL_ARN;
  if (!vendorRaw)
    throw new Error(
      'KEYHOLD_AWS_VENDOR_PRINCIPAL_ARN is required: the IAM principal tenants trust (e.g. arn:aws:iam::111122223333:role/keyhold)',
    );
  try {
    parseVendorPrincipalArn(vendorRaw, allowedPartitions);
  } catch (err) {
    throw new Error(`KEYHOLD_AWS_VENDOR_PRINCIPAL_ARN is invalid: ${(err as Error).message}`);
  }

  return {
    region,
    kmsEndpoint: endpoint(env, 'KEYHOLD_AWS_KMS_ENDPOINT'),
    stsEndpoint: endpoint(env, 'KEYHOLD_AWS_STS_ENDPOINT'),
    ...(accessKeyId && secretAccessKey
      ? { vendorCredentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } }
      : {}),
    vendorPrincipalArn: vendorRaw,
    maxAttempts: intIn(env, 'KEYHOLD_AWS_MAX_ATTEMPTS', 3, 1, 10),
    requestTimeoutMs: intIn(env, 'KEYHOLD_AWS_REQUEST_TIMEOUT_MS', 5000, 100, 120_000),
    allowedPartitions,
  };
}

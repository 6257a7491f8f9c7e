import { randomBytes, scrypt, ScryptOptions, timingSafeEqual } from 'node:crypto';

/**
 * Password and client-secret hashing with scrypt (memory-hard). The parameters are stored with the hash so
 * they can be raised later without invalidating existing hashes: `scrypt$N$r$p$salt$hash` (base64url).
 */
const DEFAULT = { N: 2 ** 15, r: 8, p: 1, keyLen: 32 };

function derive(secret: string, salt: Buffer, N: number, r: number, p: number, keyLen: number): Promise<Buffer> {
  const opts: ScryptOptions = { N, r, p, maxmem: 256 * N * r };
  return new Promise((resolve, reject) =>
    scrypt(secret.normalize('NFKC'), salt, keyLen, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashSecret(secret: string, params: Partial<typeof DEFAULT> = {}): Promise<string> {
  const { N, r, p, keyLen } = { ...DEFAULT, ...params };
  const salt = randomBytes(16);
  const key = await derive(secret, salt, N, r, p, keyLen);
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Constant-time verification; a malformed stored hash verifies as false. */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  if (![N, r, p].every((x) => Number.isSafeInteger(x) && x > 0)) return false;
  const salt = Buffer.from(parts[4], 'base64url');
  const expected = Buffer.from(parts[5], 'base64url');
  const actual = await derive(secret, salt, N, r, p, expected.length);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * Service-principal client secrets: 256 random bits, so memory-hardness buys nothing and every token request pays
 * for it — lighter scrypt. Shared by the code that hashes secrets and by the dummy verification for unknown ids.
 */
export const CLIENT_SECRET_HASH_PARAMS = { N: 2 ** 12 } as const;

const dummies = new Map<number, Promise<string>>();

/**
 * Burn the same scrypt work as a real verification, for unknown users / client ids, so response timing does not
 * reveal which accounts exist. The dummy hash is computed with the parameters the real records of that kind use
 * (passwords: the default; client secrets: CLIENT_SECRET_HASH_PARAMS), otherwise an unknown id costs a different
 * amount of work than a known one and timing tells them apart.
 */
export async function verifyAgainstDummy(secret: string, params: Partial<typeof DEFAULT> = {}): Promise<false> {
  const N = params.N ?? DEFAULT.N;
  let dummy = dummies.get(N);
  if (!dummy) dummies.set(N, (dummy = hashSecret('keyhold-dummy-password', params)));
  await verifySecret(secret, await dummy);
  return false;
}

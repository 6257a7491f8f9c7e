import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

/** A real OpenID Connect provider (oidc-provider) in a child process; see idp-server.mjs. */
export interface IdpClient {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
  /** Rewrite this client's ID tokens (correctly re-signed) with a wrong audience, nonce, expiry or issuer. */
  tamper?: 'aud' | 'nonce' | 'exp' | 'iss';
}

export interface IdpUser {
  email: string;
  groups?: string[];
  emailVerified?: boolean;
}

export interface Idp {
  issuer: string;
  close(): Promise<void>;
}

export async function startIdp(clients: IdpClient[], users: Record<string, IdpUser>): Promise<Idp> {
  const child: ChildProcess = spawn(process.execPath, [join(__dirname, 'idp-server.mjs')], {
    env: { ...process.env, IDP_CONFIG: JSON.stringify({ clients, users }), NODE_ENV: 'test' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  const issuer = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`IdP did not start: ${stderr}`)), 15_000);
    child.stdout!.on('data', (d) => {
      out += String(d);
      const line = out.split('\n').find((l) => l.includes('"ready"'));
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { issuer: string }).issuer);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`IdP exited (${code}): ${stderr}`));
    });
  });
  return {
    issuer,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

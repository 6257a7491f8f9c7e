import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The offline verifier (packages/audit-verify) as a separate process, exactly as a customer runs it: from the
 * compiled suite it runs dist/packages/audit-verify/src/cli.js; from jest, the TypeScript source through the
 * repository's swc register hook.
 */
const compiled = __filename.endsWith('.js');
const ROOT = compiled ? resolve(__dirname, '..', '..', '..') : resolve(__dirname, '..', '..');

function entry(): string[] {
  if (compiled) {
    const cli = join(ROOT, 'dist', 'packages', 'audit-verify', 'src', 'cli.js');
    if (!existsSync(cli)) throw new Error(`the verifier has not been built (${cli}); run npm run build:server`);
    return [cli];
  }
  return [
    '-r',
    join(ROOT, 'test', 'support', 'swc-register.js'),
    join(ROOT, 'packages', 'audit-verify', 'src', 'cli.ts'),
  ];
}

export interface VerifierRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runOfflineVerifier(args: string[]): Promise<VerifierRun> {
  return new Promise((res) => {
    execFile(
      process.execPath,
      [...entry(), ...args],
      { cwd: ROOT, timeout: 60_000, env: { PATH: process.env.PATH ?? '' } },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : null
          : 0;
        res({ code, stdout, stderr });
      },
    );
  });
}

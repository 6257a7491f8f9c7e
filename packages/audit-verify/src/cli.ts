import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { keyRing, parsePublicKeys } from './keys';
import { MalformedInput, parseCheckpoints, parseRecord } from './parse';
import { LogVerdict, LogVerifier } from './verify';

const USAGE = `usage: keyhold-audit-verify <export.jsonl> --checkpoints <checkpoints.json> --public-key <key.pem> [--tenant <id>] [--json]

Verifies a Keyhold audit export offline: every checkpoint is signed by a given public key, the records form an
unbroken hash chain, and the chain matches every signed checkpoint. Exit 0 = verified, 1 = tampering detected,
2 = bad usage or unreadable input.
`;

/** Runs the verifier; resolves with the exit code. Output goes to the given streams (tests call it in-process too). */
export async function run(
  argv: string[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        checkpoints: { type: 'string' },
        'public-key': { type: 'string', multiple: true },
        tenant: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    });
  } catch (e) {
    err.write(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = args;
  if (values.help) {
    out.write(USAGE);
    return 0;
  }
  if (positionals.length !== 1 || !values.checkpoints || !values['public-key']?.length) {
    err.write(USAGE);
    return 2;
  }
  let verifier: LogVerifier | undefined;
  let verdict: LogVerdict;
  try {
    const ring = keyRing(values['public-key'].flatMap((f) => parsePublicKeys(readFileSync(f, 'utf8'))));
    const checkpoints = parseCheckpoints(readFileSync(values.checkpoints, 'utf8'));
    const lines = createInterface({ input: createReadStream(positionals[0], 'utf8'), crlfDelay: Infinity });
    let n = 0;
    let malformed: LogVerdict | undefined;
    for await (const line of lines) {
      n++;
      if (!line.trim() || malformed) continue;
      let record;
      try {
        record = parseRecord(line, n);
      } catch (e) {
        if (!(e instanceof MalformedInput)) throw e;
        malformed = { ok: false, count: 0, firstBadSeq: 0, reason: 'malformed', message: e.message, record: n };
        continue;
      }
      // The tenant is the one named on the command line, else the one the log itself names first.
      verifier ??= new LogVerifier({ tenantId: values.tenant ?? record.tenantId, checkpoints, publicKeys: ring });
      verifier.push(record);
    }
    verifier ??= new LogVerifier({
      tenantId: values.tenant ?? checkpoints[0]?.tenantId ?? '',
      checkpoints,
      publicKeys: ring,
    });
    verdict = malformed ?? verifier.finish();
  } catch (e) {
    err.write(
      `cannot verify: ${e instanceof MalformedInput || (e as NodeJS.ErrnoException).code ? (e as Error).message : String(e)}\n`,
    );
    return 2;
  }
  if (values.json) out.write(`${JSON.stringify(verdict)}\n`);
  else if (verdict.ok)
    out.write(
      `OK: ${verdict.count} records, chain head ${verdict.headHash}, ${verdict.checkpoints} signed checkpoints verified (last at seq ${verdict.lastCheckpointSeq})` +
        `${verdict.uncheckpointed ? `; ${verdict.uncheckpointed} newer records are not sealed by a checkpoint yet` : ''}\n`,
    );
  else
    out.write(
      `TAMPERED (${verdict.reason}): first bad seq ${verdict.firstBadSeq}${verdict.record ? `, record on line ${verdict.record}` : ''}: ${verdict.message}\n`,
    );
  return verdict.ok ? 0 : 1;
}

if (require.main === module)
  run(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`keyhold-audit-verify failed: ${String(e)}\n`);
      process.exit(2);
    },
  );

import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { run } from './cli';
import { checkpointMessage, entryHash, GENESIS_HASH } from './format';
import { keyIdOf } from './keys';

const T = '22222222-2222-4222-8222-222222222222';

describe('keyhold-audit-verify', () => {
  const dir = mkdtempSync(join(tmpdir(), 'audit-verify-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  let prev = GENESIS_HASH;
  const lines: string[] = [];
  for (let seq = 1; seq <= 6; seq++) {
    const e = {
      tenantId: T,
      seq,
      at: new Date(Date.now() - 10_000 + seq),
      actor: 'admin:a',
      action: 'x',
      target: 't',
      outcome: 'success',
      details: { seq },
    };
    const hash = entryHash(prev, e);
    lines.push(JSON.stringify({ ...e, at: e.at.toISOString(), prevHash: prev, hash }));
    prev = hash;
  }
  const c = { tenantId: T, seq: 6, headHash: prev, at: new Date().toISOString() };
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const cps = file(
    'cps.json',
    JSON.stringify({
      checkpoints: [
        { ...c, keyId: keyIdOf(publicKey), signature: sign(null, checkpointMessage(c), privateKey).toString('base64') },
      ],
    }),
  );
  const key = file('key.pem', publicKey.export({ type: 'spki', format: 'pem' }).toString());

  async function cli(args: string[]) {
    const out = new PassThrough();
    const err = new PassThrough();
    let text = '';
    out.on('data', (d) => (text += String(d)));
    err.on('data', (d) => (text += String(d)));
    const code = await run(args, out, err);
    return { code, text };
  }

  it('exit 0 and a summary for an intact export', async () => {
    const r = await cli([file('ok.jsonl', lines.join('\n') + '\n'), '--checkpoints', cps, '--public-key', key]);
    expect(r).toMatchObject({ code: 0 });
    expect(r.text).toMatch(/^OK: 6 records, chain head [0-9a-f]{64}, 1 signed checkpoints verified/);
  });

  it('exit 1 naming the first bad record', async () => {
    const edited = lines.map((l, i) => (i === 2 ? l.replace('"outcome":"success"', '"outcome":"failure"') : l));
    const r = await cli([file('bad.jsonl', edited.join('\n')), '--checkpoints', cps, '--public-key', key, '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.text)).toMatchObject({ ok: false, firstBadSeq: 3, reason: 'modified', record: 3 });
  });

  it('exit 2 on bad usage or unreadable input', async () => {
    expect((await cli([])).code).toBe(2);
    expect((await cli([join(dir, 'missing.jsonl'), '--checkpoints', cps, '--public-key', key])).code).toBe(2);
    expect(
      (
        await cli([
          file('x.jsonl', lines.join('\n')),
          '--checkpoints',
          cps,
          '--public-key',
          file('junk.pem', 'not a key'),
        ])
      ).code,
    ).toBe(2);
  });
});

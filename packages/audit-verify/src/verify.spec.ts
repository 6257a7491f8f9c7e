import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { AuditEntry, Checkpoint, checkpointMessage, entryHash, entryMac, GENESIS_HASH, headMac } from './format';
import { keyIdOf, keyRing } from './keys';
import { ChainedRecord, verifyLog } from './verify';

const T = '11111111-1111-4111-8111-111111111111';
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const kid = keyIdOf(publicKey);
const ring = keyRing([publicKey]);
const macKey = randomBytes(32);
const t0 = Date.parse('2026-12-04T10:00:00.000Z');

function chain(n: number, from: ChainedRecord[] = [], tweak?: (e: AuditEntry) => AuditEntry): ChainedRecord[] {
  const out = [...from];
  let prev = out.length ? out[out.length - 1].hash : GENESIS_HASH;
  for (let seq = out.length + 1; out.length < n; seq++) {
    let e: AuditEntry = {
      tenantId: T,
      seq,
      at: new Date(t0 + seq * 1000),
      actor: 'admin:a',
      action: 'x',
      target: 'w',
      outcome: 'success',
      details: { n: seq },
    };
    if (tweak) e = tweak(e);
    const hash = entryHash(prev, e);
    out.push({ ...e, prevHash: prev, hash, mac: entryMac(macKey, T, seq, hash) });
    prev = hash;
  }
  return out;
}

function checkpoint(records: ChainedRecord[], seq: number, atMs = t0 + seq * 1000 + 500): Checkpoint {
  const c = { tenantId: T, seq, headHash: records[seq - 1].hash, at: new Date(atMs).toISOString() };
  return { ...c, keyId: kid, signature: sign(null, checkpointMessage(c), privateKey).toString('base64') };
}

const verify = (
  records: ChainedRecord[],
  checkpoints: Checkpoint[],
  extra: Partial<Parameters<typeof verifyLog>[0]> = {},
) => verifyLog({ tenantId: T, records, checkpoints, publicKeys: ring, ...extra });

describe('audit log verification', () => {
  const log = chain(10);
  const cps = [checkpoint(log, 4), checkpoint(log, 8)];

  it('verifies an intact log and its checkpoints, offline and with the MAC key and head', () => {
    expect(verify(log, cps)).toEqual({
      ok: true,
      count: 10,
      headHash: log[9].hash,
      checkpoints: 2,
      lastCheckpointSeq: 8,
      uncheckpointed: 2,
    });
    const head = { seq: 10, hash: log[9].hash, mac: headMac(macKey, T, 10, log[9].hash) };
    expect(verify(log, cps, { macKey, head })).toMatchObject({ ok: true, count: 10 });
  });

  it('a changed field: modified, at its seq', () => {
    const bad = log.map((r) => (r.seq === 3 ? { ...r, outcome: 'failure' } : r));
    expect(verify(bad, cps)).toMatchObject({ ok: false, firstBadSeq: 3, reason: 'modified', record: 3 });
  });

  it('a deleted record: gap; reordered records: reordered', () => {
    expect(verify([...log.slice(0, 4), ...log.slice(5)], cps)).toMatchObject({
      ok: false,
      firstBadSeq: 5,
      reason: 'gap',
    });
    const swapped = [...log];
    [swapped[5], swapped[6]] = [swapped[6], swapped[5]];
    expect(verify(swapped, cps)).toMatchObject({ ok: false, firstBadSeq: 6, reason: 'gap' });
    expect(verify([...log.slice(0, 6), log[4], ...log.slice(6)], cps)).toMatchObject({
      ok: false,
      firstBadSeq: 7,
      reason: 'reordered',
    });
  });

  it('a rewritten history that re-hashes consistently: forked offline, mac_invalid with the key', () => {
    const forged = chain(10, log.slice(0, 5), (e) => (e.seq === 6 ? { ...e, actor: 'mallory' } : e));
    forged.forEach((r, i) => i >= 5 && Object.assign(r, { mac: 'f'.repeat(64) }));
    expect(verify(forged, cps)).toMatchObject({ ok: false, firstBadSeq: 5, reason: 'forked' });
    expect(verify(forged, cps, { macKey })).toMatchObject({ ok: false, firstBadSeq: 6, reason: 'mac_invalid' });
  });

  it('truncation past a checkpoint, a forged or unknown-key checkpoint, two disagreeing checkpoints', () => {
    expect(verify(log.slice(0, 7), cps)).toMatchObject({ ok: false, firstBadSeq: 8, reason: 'truncated' });
    expect(verify(log, [{ ...cps[1], headHash: log[6].hash }])).toMatchObject({
      ok: false,
      reason: 'checkpoint_signature_invalid',
    });
    const other = generateKeyPairSync('ed25519');
    const c = { tenantId: T, seq: 8, headHash: log[7].hash, at: cps[1].at };
    expect(
      verify(log, [
        {
          ...c,
          keyId: keyIdOf(other.publicKey),
          signature: sign(null, checkpointMessage(c), other.privateKey).toString('base64'),
        },
      ]),
    ).toMatchObject({
      ok: false,
      reason: 'checkpoint_signature_invalid',
    });
    const fork = chain(8, log.slice(0, 5), (e) => ({ ...e, action: 'y' }));
    expect(verify(log, [...cps, checkpoint(fork, 8)])).toMatchObject({ ok: false, firstBadSeq: 8, reason: 'forked' });
  });

  it('the head: missing, rewound, or not written by Keyhold', () => {
    expect(verify(log, cps, { macKey, head: null })).toMatchObject({
      ok: false,
      reason: 'head_missing',
      firstBadSeq: 11,
    });
    const rewound = { seq: 9, hash: log[8].hash, mac: headMac(macKey, T, 9, log[8].hash) };
    expect(verify(log, cps, { macKey, head: rewound })).toMatchObject({ ok: false, reason: 'head_mismatch' });
    const forged = { seq: 9, hash: log[8].hash, mac: entryMac(macKey, T, 9, log[8].hash) };
    expect(verify(log.slice(0, 9), cps, { macKey, head: forged })).toMatchObject({
      ok: false,
      reason: 'head_mac_invalid',
    });
  });

  it('records older than the checkpoint interval with no checkpoint: checkpoint_missing', () => {
    const now = new Date(t0 + 10 * 60_000);
    expect(verify(log, cps, { asOf: now, graceMs: 120_000 })).toMatchObject({
      ok: false,
      reason: 'checkpoint_missing',
      firstBadSeq: 9,
    });
    expect(verify(log, [], { asOf: now, graceMs: 120_000 })).toMatchObject({
      ok: false,
      reason: 'checkpoint_missing',
      firstBadSeq: 1,
    });
    expect(verify(log, [...cps, checkpoint(log, 10)], { asOf: now, graceMs: 120_000 })).toMatchObject({ ok: true });
  });

  it("another tenant's records or checkpoints", () => {
    expect(
      verify(
        log.map((r) => (r.seq === 2 ? { ...r, tenantId: 'other' } : r)),
        cps,
      ),
    ).toMatchObject({ ok: false, reason: 'tenant_mismatch', firstBadSeq: 2 });
  });
});

import type { Checkpoint } from './format';
import type { ChainedRecord } from './verify';

/** A line of the JSON-lines export that is not a record of the documented shape. */
export class MalformedInput extends Error {
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(message);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (o: Record<string, unknown>, k: string, where: string): string => {
  if (typeof o[k] !== 'string') throw new MalformedInput(`${where}: "${k}" must be a string`);
  return o[k];
};

/** One export line (`GET …/audit-events/export`) as a record; `at` must round-trip through Date exactly. */
export function parseRecord(text: string, line: number): ChainedRecord {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    throw new MalformedInput(`line ${line} is not JSON`, line);
  }
  if (!isObject(o)) throw new MalformedInput(`line ${line} is not a JSON object`, line);
  const where = `line ${line}`;
  try {
    const at = new Date(str(o, 'at', where));
    if (Number.isNaN(at.getTime()) || at.toISOString() !== o.at)
      throw new MalformedInput(`${where}: "at" must be an ISO-8601 UTC time with milliseconds`);
    if (typeof o.seq !== 'number') throw new MalformedInput(`${where}: "seq" must be a number`);
    if (!isObject(o.details)) throw new MalformedInput(`${where}: "details" must be an object`);
    return {
      tenantId: str(o, 'tenantId', where),
      seq: o.seq,
      at,
      actor: str(o, 'actor', where),
      action: str(o, 'action', where),
      target: str(o, 'target', where),
      outcome: str(o, 'outcome', where),
      details: o.details,
      prevHash: str(o, 'prevHash', where),
      hash: str(o, 'hash', where),
      ...(typeof o.mac === 'string' ? { mac: o.mac } : {}),
    };
  } catch (err) {
    if (err instanceof MalformedInput) throw new MalformedInput(err.message, line);
    throw err;
  }
}

/** Records of a JSON-lines export, blank lines skipped. */
export function* parseExport(text: string): Generator<ChainedRecord> {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) if (lines[i].trim()) yield parseRecord(lines[i], i + 1);
}

function parseCheckpoint(o: unknown, where: string): Checkpoint {
  if (!isObject(o)) throw new MalformedInput(`${where} is not a JSON object`);
  if (typeof o.seq !== 'number' || !Number.isSafeInteger(o.seq) || o.seq < 1)
    throw new MalformedInput(`${where}: "seq" must be a positive integer`);
  return {
    tenantId: str(o, 'tenantId', where),
    seq: o.seq,
    headHash: str(o, 'headHash', where),
    at: str(o, 'at', where),
    keyId: str(o, 'keyId', where),
    signature: str(o, 'signature', where),
  };
}

/**
 * Checkpoints as saved from `GET …/audit-events/checkpoints` (one page `{checkpoints: [...]}`, a JSON array, or
 * pages / checkpoints one per line, so a customer can append every page they ever fetched to one file).
 */
export function parseCheckpoints(text: string): Checkpoint[] {
  const out: Checkpoint[] = [];
  const take = (v: unknown, where: string) => {
    if (Array.isArray(v)) v.forEach((c, i) => out.push(parseCheckpoint(c, `${where}[${i}]`)));
    else if (isObject(v) && Array.isArray(v.checkpoints))
      v.checkpoints.forEach((c, i) => out.push(parseCheckpoint(c, `${where}.checkpoints[${i}]`)));
    else out.push(parseCheckpoint(v, where));
  };
  const trimmed = text.trim();
  if (!trimmed) return out;
  try {
    take(JSON.parse(trimmed), 'checkpoints');
    return out;
  } catch (err) {
    if (err instanceof MalformedInput) throw err;
  }
  trimmed.split('\n').forEach((l, i) => {
    if (!l.trim()) return;
    let v: unknown;
    try {
      v = JSON.parse(l);
    } catch {
      throw new MalformedInput(`checkpoints line ${i + 1} is not JSON`);
    }
    take(v, `checkpoints line ${i + 1}`);
  });
  return out;
}

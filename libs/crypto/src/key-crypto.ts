import { unwrapDek, wrapDek } from './dek-wrap';
import { generateKek, kcv, kcvMatches } from './kek';

/** The primitives as one object (the jobs' `KeyCrypto` port is satisfied structurally). */
export const keyCrypto = Object.freeze({ generateKek, kcv, kcvMatches, wrapDek, unwrapDek });

import type { KeyState } from '../api/types';

export const KEY_STATE_LABELS: Record<KeyState, string> = {
  unbound: 'Unbound',
  provisioning: 'Provisioning',
  active: 'Active',
  rewrapping: 'Rewrapping (CMK)',
  rekeying: 'Re-keying',
  kek_rotating: 'Rotating KEK',
  access_suspect: 'Access suspect',
  shredded: 'Shredded',
  destroyed: 'Destroyed',
};

const TONE: Record<KeyState, 'ok' | 'busy' | 'warn' | 'bad' | 'neutral'> = {
  unbound: 'neutral',
  provisioning: 'busy',
  active: 'ok',
  rewrapping: 'busy',
  rekeying: 'busy',
  kek_rotating: 'busy',
  access_suspect: 'warn',
  shredded: 'bad',
  destroyed: 'bad',
};

/** The workspace key state, in words (colour is never the only signal). */
export function StateBadge({ state }: { state: KeyState }) {
  return <span className={`badge badge-${TONE[state] ?? 'neutral'}`}>{KEY_STATE_LABELS[state] ?? state}</span>;
}

export function StatusBadge({ ok, yes, no }: { ok: boolean; yes: string; no: string }) {
  return <span className={`badge badge-${ok ? 'ok' : 'bad'}`}>{ok ? yes : no}</span>;
}

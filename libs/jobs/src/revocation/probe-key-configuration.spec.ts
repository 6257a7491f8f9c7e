import { nextState } from './probe-key-configuration';

describe('nextState (what a probe verdict does to a workspace)', () => {
  it('suspects serving workspaces, restores suspect ones, shreds only on a shred verdict', () => {
    for (const s of ['active', 'rewrapping', 'rekeying', 'kek_rotating'] as const) {
      expect(nextState(s, 'suspect')).toBe('access_suspect');
      expect(nextState(s, 'degraded')).toBeNull();
      expect(nextState(s, 'restore')).toBeNull();
      expect(nextState(s, 'shred')).toBe('shredded');
    }
    expect(nextState('access_suspect', 'restore')).toBe('active');
    expect(nextState('access_suspect', 'suspect')).toBeNull();
    expect(nextState('access_suspect', 'degraded')).toBeNull();
  });

  it('never brings a shredded workspace back (only reinstate does) and never touches unbound ones', () => {
    for (const v of ['restore', 'degraded', 'suspect', 'shred'] as const) {
      expect(nextState('shredded', v)).toBeNull();
      expect(nextState('unbound', v)).toBeNull();
      expect(nextState('provisioning', v)).toBeNull();
    }
  });

  it('never moves a destroyed workspace, whatever the verdict', () => {
    for (const v of ['restore', 'degraded', 'suspect', 'shred'] as const) expect(nextState('destroyed', v)).toBeNull();
  });
});

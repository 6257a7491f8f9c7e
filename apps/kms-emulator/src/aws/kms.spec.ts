import { handleKms, settle } from './kms';
import { AwsState, Principal } from './state';

/** Time-driven key transitions, which the SDK tests cannot wait for (a deletion window is at least 7 days). */
const ACCOUNT = '000000000000';
const root: Principal = {
  kind: 'key',
  key: {
    accessKeyId: 'test',
    secretAccessKey: 'test',
    arn: `arn:aws:iam::${ACCOUNT}:root`,
    accountId: ACCOUNT,
    userId: ACCOUNT,
    isRoot: true,
  },
};
const fresh = (): AwsState => ({ keys: [], aliases: [], roles: [], accessKeys: [root.key], sessions: [] });
const call = (state: AwsState, op: string, body: Record<string, unknown>, now: number) =>
  handleKms(op, { state, principal: root, region: 'us-east-1', body, now });

describe('settle', () => {
  it('completes a deletion once its DeletionDate has passed, and not before; the ciphertext then answers NotFound', () => {
    const state = fresh();
    const t0 = Date.UTC(2026, 0, 1);
    const arn = (call(state, 'CreateKey', {}, t0).KeyMetadata as { Arn: string }).Arn;
    const ct = call(
      state,
      'Encrypt',
      { KeyId: arn, Plaintext: Buffer.from('x').toString('base64') },
      t0,
    ).CiphertextBlob;
    call(state, 'CreateAlias', { AliasName: 'alias/doomed', TargetKeyId: arn }, t0);
    call(state, 'ScheduleKeyDeletion', { KeyId: arn, PendingWindowInDays: 7 }, t0);
    expect(settle(state, t0 + 7 * 86400_000 - 1000)).toBe(false);
    expect(state.keys).toHaveLength(1);
    expect(settle(state, t0 + 7 * 86400_000)).toBe(true);
    expect(state.keys).toHaveLength(0);
    expect(state.aliases).toHaveLength(0);
    expect(state.deletedKeys).toEqual([arn]);
    expect(() => call(state, 'Decrypt', { CiphertextBlob: ct }, t0 + 8 * 86400_000)).toThrow(
      expect.objectContaining({ type: 'NotFoundException' }),
    );
  });
});

import { HandlerRegistry, MissingHandlersError } from './handler-registry';
import type { OperationHandler } from './operation-handler';

const handler = (kind: string): OperationHandler => ({
  kind,
  lockKey: () => null,
  execute: async () => ({ kind: 'done' }),
});

describe('HandlerRegistry', () => {
  it('refuses to boot when a kind has no handler, naming it', () => {
    const r = new HandlerRegistry([handler('cmk-rewrap'), handler('rekey')]);
    expect(() => r.assertCovers(['cmk-rewrap', 'rekey', 'reinstate'])).toThrow(MissingHandlersError);
    expect(() => r.assertCovers(['cmk-rewrap', 'rekey', 'reinstate'])).toThrow(/reinstate/);
    expect(() => r.assertCovers(['cmk-rewrap'])).not.toThrow();
  });
  it('refuses two handlers for one kind', () => {
    expect(() => new HandlerRegistry([handler('rekey'), handler('rekey')])).toThrow(/two handlers/);
  });
});

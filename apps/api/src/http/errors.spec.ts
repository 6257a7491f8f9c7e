import { toErrorReply } from './errors';

/**
 * A store that is briefly unavailable is a 503 with Retry-After, never a 500: whatever form the driver's error takes
 * after Postgres restarts or terminates a pooled connection.
 */
describe('toErrorReply: the store briefly unavailable', () => {
  it.each([
    ['a connection exception (SQLSTATE 08006)', Object.assign(new Error('connection failure'), { code: '08006' })],
    ['an administrator shutdown (57P01)', Object.assign(new Error('terminating connection'), { code: '57P01' })],
    ['a socket reset', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    [
      'a pooled client whose connection broke',
      new Error('Client has encountered a connection error and is not queryable'),
    ],
    ['a pooled client already closed', new Error('Client was closed and is not queryable')],
    [
      'the error wrapped by TypeORM',
      { name: 'QueryFailedError', message: 'x', driverError: new Error('Connection terminated unexpectedly') },
    ],
  ])('%s → 503 STORE_UNAVAILABLE', (_what, err) => {
    const r = toErrorReply(err);
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe('STORE_UNAVAILABLE');
    expect(r.headers?.['retry-after']).toBe('1');
  });

  it('an unknown failure is still a 500 (and logged as internal)', () => {
    const r = toErrorReply(new TypeError('x is undefined'));
    expect(r.status).toBe(500);
    expect(r.internal).toBe(true);
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ownerOf, summariseProfile } from './profile';

describe('profile summary', () => {
  it('attributes code to its owner, innermost node_modules package first', () => {
    expect(ownerOf('file:///w/node_modules/@nestjs/platform-fastify/node_modules/fastify/lib/route.js', 'x')).toBe(
      'pkg:fastify',
    );
    expect(ownerOf('file:///w/node_modules/pino/lib/proto.js', 'x')).toBe('pkg:pino');
    expect(ownerOf('file:///w/dist/libs/auth/src/token.js', 'verify')).toBe('ours:libs/auth');
    expect(ownerOf('file:///w/dist/apps/api/src/dek-route.js', 'handler')).toBe('ours:apps/api');
    expect(ownerOf('node:internal/http', 'x')).toBe('node:internal');
    expect(ownerOf('', '(garbage collector)')).toBe('(garbage collector)');
    expect(ownerOf('', 'writev')).toBe('(native)');
  });

  it('sums self time from the sample deltas and leaves idle out', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-profile-'));
    const file = join(dir, 'p.cpuprofile');
    const node = (id: number, functionName: string, url: string) => ({
      id,
      callFrame: { functionName, url, lineNumber: 0, columnNumber: 0, scriptId: '0' },
    });
    writeFileSync(
      file,
      JSON.stringify({
        nodes: [
          node(1, '(root)', ''),
          node(2, '(idle)', ''),
          node(3, 'verifyToken', 'file:///w/dist/libs/auth/src/jwt.js'),
          node(4, 'route', 'file:///w/node_modules/find-my-way/index.js'),
        ],
        startTime: 0,
        endTime: 10_000,
        samples: [3, 3, 4, 2, 3],
        // the time of sample i is timeDeltas[i + 1]
        timeDeltas: [0, 1000, 1000, 1000, 5000, 1000],
      }),
    );
    const s = summariseProfile(file, 25, 4);
    expect(s.totalMs).toBe(4);
    expect(s.busyUsPerRequest).toBe(1000); // four 1 ms busy samples; the 5 ms idle one is excluded
    expect(s.top[0]).toMatchObject({ fn: 'verifyToken', selfMs: 3 });
    expect(s.byOwner.find((o) => o.owner === 'ours:libs/auth')?.pct).toBe(75);
    expect(s.byOwner.find((o) => o.owner === 'pkg:find-my-way')?.selfMs).toBe(1);
  });
});

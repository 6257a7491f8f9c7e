import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { AuditLog, AuditModule } from '@app/audit';
import { AuthModule } from '@app/auth';
import { ConfigModule, KEYHOLD_CONFIG } from '@app/config';
import { KeysModule, ProviderRegistry, ProvidersModule } from '@app/keys';
import { PersistenceModule, REDIS, REPOSITORIES } from '@app/persistence';
import { SiemModule } from '@app/siem';
import { LOGGER, LoggerModule } from '@app/telemetry';
import { DataSource } from 'typeorm';
import { API_CONTROLLERS } from '../../apps/api/src/app.module';
import type { RunningWorker } from '../../apps/worker/src/worker';
import { startStack, type TestStack } from '../support/stack';
import { startTestWorker } from '../support/worker';

/**
 * The API and the worker are two roots over one module graph: the shared modules are the same classes in both,
 * every provider of ours is declared by exactly one module (the others import it), and nothing is reached through
 * a service locator.
 */
jest.setTimeout(120_000);

let stack: TestStack;
let worker: RunningWorker;

beforeAll(async () => {
  stack = await startStack();
  worker = await startTestWorker(stack.config, { schedulers: false });
});

afterAll(async () => {
  await worker?.close();
  await stack?.close();
});

type Token = string | symbol | ((...args: never[]) => unknown);

/** Module class name → the tokens it declares itself (imports excluded), for our own providers only. */
function declarations(app: INestApplicationContext): Map<string, Token[]> {
  const out = new Map<string, Token[]>();
  for (const m of app.get(ModulesContainer).values()) {
    const own: Token[] = [];
    for (const token of m.providers.keys()) {
      const ours =
        typeof token === 'string'
          ? token.startsWith('keyhold:')
          : typeof token === 'function' &&
            token !== m.metatype &&
            !token.name.startsWith('ModuleRef') &&
            ![
              'ApplicationConfig',
              'Reflector',
              'HttpAdapterHost',
              'LazyModuleLoader',
              'ExternalContextCreator',
              'ModulesContainer',
              'SerializedGraph',
            ].includes(token.name);
      if (ours && !(typeof token === 'function' && token.name.startsWith('TypeOrm'))) own.push(token as Token);
    }
    out.set(m.metatype.name, [...(out.get(m.metatype.name) ?? []), ...own]);
  }
  return out;
}

const moduleNames = (app: INestApplicationContext) =>
  new Set([...app.get(ModulesContainer).values()].map((m) => m.metatype));

describe('one module graph, two roots', () => {
  it('the API and the worker import the same shared modules', () => {
    const api = moduleNames(stack.api.app);
    const wk = moduleNames(worker.app);
    for (const shared of [ConfigModule, LoggerModule, PersistenceModule, AuditModule, ProvidersModule]) {
      expect([shared.name, api.has(shared)]).toEqual([shared.name, true]);
      expect([shared.name, wk.has(shared)]).toEqual([shared.name, true]);
    }
    // the API's feature modules; the worker holds no KEK cache, no sessions, no use cases
    for (const apiOnly of [AuthModule, KeysModule, SiemModule]) {
      expect(api.has(apiOnly)).toBe(true);
      expect(wk.has(apiOnly)).toBe(false);
    }
  });

  it.each([
    ['api', () => stack.api.app],
    ['worker', () => worker.app],
  ])('%s: every provider of ours is declared by exactly one module', (_name, appOf) => {
    const app = appOf();
    const declaredBy = new Map<Token, string[]>();
    for (const [mod, tokens] of declarations(app))
      for (const t of tokens) declaredBy.set(t, [...(declaredBy.get(t) ?? []), mod]);
    const twice = [...declaredBy]
      .filter(([, mods]) => mods.length > 1)
      .map(([t, mods]) => `${String(typeof t === 'function' ? t.name : t)} in ${mods.join(', ')}`);
    expect(twice).toEqual([]);
    expect(declaredBy.size).toBeGreaterThan(5); // positive control: the scan sees our providers
  });

  it.each([
    ['api', () => stack.api.app, [AuditModule, ProvidersModule, KeysModule, SiemModule]],
    ['worker', () => worker.app, [AuditModule, ProvidersModule]],
  ] as const)('%s: each module sees the same instances (built once)', (_name, appOf, modules) => {
    const app = appOf();
    for (const token of [AuditLog, DataSource, LOGGER, KEYHOLD_CONFIG, REDIS, REPOSITORIES]) {
      const root = app.get(token, { strict: false });
      for (const m of modules) expect(app.select(m).get(token, { strict: false })).toBe(root);
    }
    expect(app.select(ProvidersModule).get(ProviderRegistry)).toBe(app.get(ProviderRegistry, { strict: false }));
  });

  it('controllers are injected by class: no symbol token (no service locator)', () => {
    for (const c of API_CONTROLLERS) {
      const injected: Array<{ index: number; param: unknown }> = Reflect.getMetadata('self:paramtypes', c) ?? [];
      for (const { param } of injected) expect([c.name, typeof param]).toEqual([c.name, 'string']);
      const types: unknown[] = Reflect.getMetadata('design:paramtypes', c) ?? [];
      expect([c.name, types.length > 0 || c.name === 'HealthController']).toEqual([c.name, true]);
    }
    for (const app of [stack.api.app, worker.app])
      for (const m of app.get(ModulesContainer).values())
        for (const token of m.providers.keys())
          expect(typeof token === 'symbol' ? token.description : '').not.toMatch(/KeyholdServices/);
  });

  it('one redaction list and one logger factory: no pino instance is built outside libs/telemetry', () => {
    const root = join(__dirname, '..', '..');
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir)) {
        const p = join(dir, e);
        if (statSync(p).isDirectory()) {
          if (e !== 'node_modules' && e !== 'console') walk(p);
        } else if (
          p.endsWith('.ts') &&
          !p.includes(join('libs', 'telemetry')) &&
          /\bpino\(|redact:/.test(readFileSync(p, 'utf8'))
        )
          offenders.push(p.slice(root.length + 1));
      }
    };
    walk(join(root, 'apps'));
    walk(join(root, 'libs'));
    expect(offenders).toEqual([]);
  });
});

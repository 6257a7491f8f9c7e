import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openApiDocument } from '../../apps/api/src/http/openapi';

/** docs/API.md summarises the OpenAPI document: every documented route must appear in it, and nothing else. */
describe('docs/API.md', () => {
  const text = readFileSync(join(__dirname, '..', '..', 'docs', 'API.md'), 'utf8');
  const documented = new Set([...text.matchAll(/^\| `([A-Z]+ \/[^`]*)` \|/gm)].map((m) => m[1]));

  it('lists exactly the routes of /openapi.json', () => {
    const routes = new Set<string>();
    for (const [path, ops] of Object.entries(openApiDocument().paths as Record<string, Record<string, unknown>>))
      for (const method of Object.keys(ops)) routes.add(`${method.toUpperCase()} ${path}`);
    expect(routes.size).toBeGreaterThan(20);
    expect([...routes].filter((r) => !documented.has(r))).toEqual([]);
    expect([...documented].filter((r) => !routes.has(r))).toEqual([]);
  });
});

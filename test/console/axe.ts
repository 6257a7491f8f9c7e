import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';

/** axe-core's browser bundle, evaluated in the page through the DevTools protocol (so the console's CSP allows it). */
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/**
 * WCAG 2.1 A and AA violations axe-core finds in the page (or in the elements matching `include`), one line each:
 * rule id, impact and the offending nodes. An empty list is the goal.
 */
export async function axeViolations(page: Page, include?: string): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  const script = `(async () => {
    const r = await window.axe.run(${include ? JSON.stringify({ include: [include] }) : 'document'}, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations.map((v) => v.id + ' (' + v.impact + '): ' + v.nodes.map((n) => JSON.stringify(n.target)).join(', '));
  })()`;
  return (await page.evaluate(script)) as string[];
}

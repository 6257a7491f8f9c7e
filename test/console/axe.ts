import type { AxeResults } from 'axe-core';
import type { Page } from 'playwright-core';

/**
 * WCAG 2.1 A/AA violations axe-core finds on the page as it is now (axe injected from node_modules; the check runs
 * as an expression in the page, which the Node typings do not describe).
 */
export async function axeViolations(page: Page): Promise<Array<{ id: string; impact: string | null | undefined; nodes: string[] }>> {
  await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
  const results = (await page.evaluate(
    `axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })`,
  )) as AxeResults;
  return results.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')) }));
}

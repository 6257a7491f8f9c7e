/**
 * Which operations this tab started, per workspace (ids only, in sessionStorage, newest first, capped): the
 * workspace page shows a live card for each, and the cards survive a reload of the page. This is the tab's own
 * memory, not server state: each card's operation is read (and polled) through TanStack Query, and the server's
 * record of every operation is the workspace's operations history.
 */
const KEY = 'keyhold.operations';
const MAX_PER_WORKSPACE = 10;

function read(): Record<string, string[]> {
  try {
    const v = JSON.parse(sessionStorage.getItem(KEY) ?? '{}') as unknown;
    return v && typeof v === 'object' ? (v as Record<string, string[]>) : {};
  } catch {
    return {};
  }
}

export function trackedOperations(workspaceId: string): string[] {
  const ids = read()[workspaceId];
  return Array.isArray(ids) ? ids.filter((x) => typeof x === 'string') : [];
}

export function trackOperation(workspaceId: string, operationId: string): string[] {
  const all = read();
  const ids = [operationId, ...trackedOperations(workspaceId).filter((x) => x !== operationId)].slice(
    0,
    MAX_PER_WORKSPACE,
  );
  all[workspaceId] = ids;
  sessionStorage.setItem(KEY, JSON.stringify(all));
  return ids;
}

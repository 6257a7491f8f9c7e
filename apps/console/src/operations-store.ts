/**
 * The API has no "list operations" call, so the console remembers the operations it started, per workspace, in
 * sessionStorage (ids only), so progress survives a reload of the page. Newest first, capped.
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
  const ids = [operationId, ...trackedOperations(workspaceId).filter((x) => x !== operationId)].slice(0, MAX_PER_WORKSPACE);
  all[workspaceId] = ids;
  sessionStorage.setItem(KEY, JSON.stringify(all));
  return ids;
}

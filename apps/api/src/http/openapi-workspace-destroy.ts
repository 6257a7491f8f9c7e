import { adminErrors, op, pathParam, ref, tenantParam } from './openapi';

/**
 * DELETE workspace (deliberate crypto-shred). A function, not a constant: openapi.ts spreads it into the
 * workspace's path entry when the document is built, after both modules are loaded.
 */
export function workspaceDestroyOperations() {
  return {
    delete: op({
      id: 'destroyWorkspace',
      summary: 'Destroy the workspace for good: every KEK and DEK row deleted; body {"confirm": "<workspace name>"}',
      security: 'admin',
      params: [tenantParam, pathParam('id')],
      body: ref('DestroyWorkspace'),
      ok: [200, ref('Workspace'), 'destroyed (keyState "destroyed"); DEK requests for it answer 410 WORKSPACE_DESTROYED'],
      errors: [...adminErrors, 410],
    }),
  };
}

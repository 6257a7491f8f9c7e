import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { ApiClient } from '../api/client';
import { useDebounced } from '../paged-list';

/** Names of the given workspaces (at most the first 200), resolved by the server; unknown ids stay ids. */
export function useWorkspaceNames(api: ApiClient, ids: string[]): Map<string, string> {
  const wanted = [...new Set(ids)].sort().slice(0, 200);
  const q = useQuery({
    queryKey: ['tenant', api.tenantId, 'workspaces', 'names', wanted.join(',')],
    queryFn: () => api.pageWorkspaces({ id: wanted, limit: 200 }),
    enabled: wanted.length > 0,
  });
  return new Map((q.data?.items ?? []).map((w) => [w.id, w.name]));
}

/**
 * Chooses workspaces out of a tenant of any size: a name search answered by the server (20 at a time) with a checkbox
 * each, and the chosen ones listed (with their names) so they can be removed again.
 */
export function WorkspacePicker(props: {
  api: ApiClient;
  idPrefix: string;
  legend: string;
  selected: string[];
  onToggle: (id: string) => void;
}) {
  const { api, idPrefix, selected } = props;
  const [search, setSearch] = useState('');
  const q = useDebounced(search.trim(), 250);
  const found = useQuery({
    queryKey: ['tenant', api.tenantId, 'workspaces', 'picker', q],
    queryFn: () => api.pageWorkspaces({ q: q || undefined, sort: 'name', limit: 20 }),
  });
  const names = useWorkspaceNames(api, selected);
  const shown = (found.data?.items ?? []).filter((w) => !selected.includes(w.id));
  return (
    <fieldset>
      <legend>{props.legend}</legend>
      {selected.length > 0 && (
        <ul className="checklist" aria-label="Chosen workspaces">
          {selected.map((id) => (
            <li key={id}>
              <label>
                <input type="checkbox" checked onChange={() => props.onToggle(id)} /> {names.get(id) ?? id}
              </label>
            </li>
          ))}
        </ul>
      )}
      <div className="field">
        <label htmlFor={`${idPrefix}-search`}>Find workspaces</label>
        <input
          id={`${idPrefix}-search`}
          type="search"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
          maxLength={100}
          spellCheck={false}
        />
      </div>
      {found.data && shown.length === 0 && <p className="muted">No other workspace matches.</p>}
      <ul className="checklist" aria-label="Matching workspaces">
        {shown.map((w) => (
          <li key={w.id}>
            <label>
              <input type="checkbox" checked={false} onChange={() => props.onToggle(w.id)} /> {w.name}
            </label>
          </li>
        ))}
      </ul>
      {found.data?.next && <p className="help">More workspaces match: refine the search.</p>}
    </fieldset>
  );
}

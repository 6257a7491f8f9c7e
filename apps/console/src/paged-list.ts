import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import type { Page } from './api/types';

/**
 * A server-side paged list: the page is fetched with TanStack Query under a key of (list, query, cursor), the previous
 * page stays on screen while the next one loads, and changing the query starts again from the first page (a cursor is
 * only valid for the query it came from). Going back is a stack of the cursors already followed.
 */
export function usePagedList<T, Q>(
  name: string,
  tenantId: string,
  query: Q,
  load: (query: Q, cursor: string | null) => Promise<Page<T>>,
) {
  const queryKey = JSON.stringify(query);
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  useEffect(() => setCursors([null]), [queryKey]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const result = useQuery({
    queryKey: ['tenant', tenantId, name, 'page', queryKey, cursor],
    queryFn: () => load(query, cursor),
    placeholderData: keepPreviousData,
  });
  return {
    items: result.data?.items,
    error: result.error,
    loading: result.isPending,
    fetching: result.isFetching,
    pageNumber: cursors.length,
    hasNext: !!result.data?.next && !result.isPlaceholderData,
    hasPrevious: cursors.length > 1,
    next: () => {
      const n = result.data?.next;
      if (n) setCursors((c) => [...c, n]);
    },
    previous: () => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c)),
    refetch: () => void result.refetch(),
  };
}

/** `value` once it has not changed for `ms` (a search box queries the server when the typing pauses). */
export function useDebounced<T>(value: T, ms = 300): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

import { useMutation } from '@tanstack/react-query';
import { useCallback, useRef } from 'react';
import { useInvalidate, type ResourceKey } from './api/queries';

/**
 * Runs an action (a button) as a TanStack mutation, tracking busy and the last error; on success the tenant's
 * resources under `invalidates` reload. `run` never throws: the error is in `error` for the page's alert.
 */
export function useAction<A extends unknown[], R>(fn: (...args: A) => Promise<R>, invalidates: ResourceKey[] = []) {
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const invalidate = useInvalidate();
  const keys = useRef(invalidates);
  keys.current = invalidates;
  const m = useMutation({
    mutationFn: (args: A) => fnRef.current(...args),
    onSuccess: () => (keys.current.length ? invalidate(...keys.current) : undefined),
  });
  const { mutateAsync } = m;
  const run = useCallback(
    async (...args: A): Promise<R | undefined> => {
      try {
        return await mutateAsync(args);
      } catch {
        return undefined;
      }
    },
    [mutateAsync],
  );
  return { run, busy: m.isPending, error: m.error as unknown };
}

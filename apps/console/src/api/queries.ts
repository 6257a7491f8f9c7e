import { QueryClient, useQuery, useQueryClient, type UseQueryResult } from '@tanstack/react-query';
import { useCallback, useContext } from 'react';
import { Ctx, useConsole } from '../context';
import { ApiClient } from './client';
import type { InvitationDetails } from './types';

/**
 * The console's server state, cached by TanStack Query. Every key starts with the tenant id, so one tenant's data
 * never answers for another's; signing out clears the cache. Errors are shown at once (no retries) and nothing
 * refetches behind the user's back except what polls on purpose (busy workspaces, operations, SIEM lag).
 */
export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: { retry: false, refetchOnWindowFocus: false, refetchOnReconnect: false, staleTime: 0 },
      mutations: { retry: false },
    },
  });
}

/** What a page reads: the data (kept while it reloads), the last error, whether a load is under way, and a reload. */
export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

function loaded<T>(q: UseQueryResult<T>): Loaded<T> {
  return { data: q.data, error: q.error, loading: q.isFetching, reload: () => void q.refetch() };
}

/** A resource's key below the tenant (e.g. ['workspaces', id]); invalidating a prefix reloads everything under it. */
export type ResourceKey = ReadonlyArray<string | number | boolean | null>;

interface QueryOptions<T> {
  /** Poll while the answer says so (ms), e.g. while a workspace is busy. */
  refetchInterval?: (data: T | undefined) => number | false;
  enabled?: boolean;
}

/** One of the signed-in tenant's resources. */
export function useTenantQuery<T>(
  key: ResourceKey,
  load: (api: ApiClient) => Promise<T>,
  options: QueryOptions<T> = {},
): Loaded<T> {
  const { api } = useConsole();
  return loaded(
    useQuery({
      queryKey: ['tenant', api.tenantId, ...key],
      queryFn: () => load(api),
      enabled: options.enabled,
      refetchInterval: options.refetchInterval ? (q) => options.refetchInterval!(q.state.data) : undefined,
    }),
  );
}

/** Marks the tenant's resources under these keys stale; the ones on screen reload (nothing when signed out). */
export function useInvalidate(): (...keys: ResourceKey[]) => Promise<void> {
  const client = useQueryClient();
  const tenantId = useContext(Ctx)?.api.tenantId;
  return useCallback(
    async (...keys: ResourceKey[]) => {
      if (tenantId === undefined) return;
      await Promise.all(keys.map((key) => client.invalidateQueries({ queryKey: ['tenant', tenantId, ...key] })));
    },
    [client, tenantId],
  );
}

/** What an emailed invitation is for (signed out: the token is the only credential; nothing is kept after). */
export function useInvitationDetails(token: string): Loaded<InvitationDetails> {
  return loaded(
    useQuery({ queryKey: ['invitation-lookup', token], queryFn: () => ApiClient.describeInvitation(token), gcTime: 0 }),
  );
}

export const useTenant = () => useTenantQuery(['tenant'], (api) => api.getTenant());
export const useKeyConfigurations = () => useTenantQuery(['key-configurations'], (api) => api.listKeyConfigurations());
export const useKeyConfiguration = (id: string) =>
  useTenantQuery(['key-configurations', id], (api) => api.getKeyConfiguration(id));
export const useServicePrincipal = (id: string) =>
  useTenantQuery(['service-principals', id], (api) => api.getServicePrincipal(id));
export const useAdminUsers = () => useTenantQuery(['admin-users'], (api) => api.listAdminUsers());
export const useInvitations = (enabled: boolean) =>
  useTenantQuery(['invitations'], (api) => api.listInvitations(), { enabled });
export const useMfaStatus = () => useTenantQuery(['me', 'mfa'], (api) => api.mfaStatus());
export const useAuditVerification = () => useTenantQuery(['audit', 'verification'], (api) => api.verifyAuditChain());

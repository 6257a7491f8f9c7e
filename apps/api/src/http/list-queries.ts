import { KEY_STATES } from '@app/persistence';
import { z } from 'zod';
import { listOf, listQuery, queryBoolean, search, uuidList } from './list-query';

/** The query strings of the list routes: filters, sort keys and paging (unknown parameters are a 400). */
export const listQueries = {
  workspaces: listQuery(['createdAt', 'name'], 'createdAt', 'asc', {
    q: search,
    keyState: listOf(KEY_STATES),
    keyConfigurationId: z.string().uuid().optional(),
    degraded: queryBoolean,
    id: uuidList(200),
  }),
  keyConfigurations: listQuery(['createdAt', 'name'], 'createdAt', 'asc', {
    q: search,
    provider: listOf(['aws', 'azure', 'gcp'] as const),
    status: listOf(['valid', 'invalid'] as const),
  }),
  servicePrincipals: listQuery(['createdAt', 'name'], 'createdAt', 'asc', { q: search, disabled: queryBoolean }),
};

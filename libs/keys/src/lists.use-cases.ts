import type {
  KeyConfigurationSort,
  KeyStateName,
  ProviderName,
  ServicePrincipalSort,
  SortDirection,
  WorkspaceSort,
} from '@app/persistence';
import type { KeysDeps } from './context';
import { DomainError, ErrorCode } from './errors';
import { ListCursors, pageOf } from './list-cursor';
import { tenantOf } from './key-configuration.use-cases';
import { keyConfigurationView, workspaceView } from './views';

/** What every list request carries besides its filters. */
export interface PageRequest<S extends string> {
  sort: S;
  order: SortDirection;
  cursor?: string;
  limit: number;
}

export interface WorkspaceFilters {
  search?: string;
  keyStates?: KeyStateName[];
  keyConfigurationId?: string;
  degraded?: boolean;
  /** Only these workspaces (the console resolving names of a principal's scope). */
  ids?: string[];
}

export interface ListWorkspacesCommand {
  readonly tenantId: string;
  readonly filters: WorkspaceFilters;
  readonly page: PageRequest<WorkspaceSort>;
}

const sorted = <T extends string>(v?: readonly T[]) => (v?.length ? [...new Set(v)].sort() : undefined);

/**
 * `GET …/workspaces`: one page of the tenant's workspaces, searched by name, filtered by key state, configuration and
 * degraded, sorted by name or creation, cursor-paged. Each page is an index range scan whatever the tenant's size.
 */
export class ListWorkspaces {
  constructor(
    private readonly deps: KeysDeps,
    private readonly cursors: ListCursors,
  ) {}

  async execute({ tenantId, filters: f, page: p }: ListWorkspacesCommand) {
    // A filter naming a configuration of another tenant, or none, is a 404: an empty page would hide the mistake.
    if (f.keyConfigurationId && !(await this.deps.repos.keyConfigurations.findById(tenantId, f.keyConfigurationId)))
      throw new DomainError(ErrorCode.KeyConfigurationNotFound, 'key configuration not found');
    const filters = {
      search: f.search || undefined,
      keyStates: sorted(f.keyStates),
      keyConfigurationId: f.keyConfigurationId,
      degraded: f.degraded,
      ids: sorted(f.ids),
    };
    const scope = { tenantId, list: 'workspaces', sort: `${p.sort}:${p.order}`, filters };
    const page = await this.deps.repos.workspaces.page(tenantId, {
      ...filters,
      sort: p.sort,
      direction: p.order,
      after: p.cursor ? this.cursors.decode(scope, p.cursor) : undefined,
      limit: p.limit,
    });
    return pageOf('workspaces', page.items.map(workspaceView), page.last && this.cursors.encode(scope, page.last));
  }
}

export interface KeyConfigurationFilters {
  search?: string;
  providers?: ProviderName[];
  statuses?: Array<'valid' | 'invalid'>;
}

export interface ListKeyConfigurationsCommand {
  readonly tenantId: string;
  readonly filters: KeyConfigurationFilters;
  readonly page: PageRequest<KeyConfigurationSort>;
}

/** `GET …/key-configurations`: searched by name, filtered by cloud and validation status, cursor-paged. */
export class ListKeyConfigurations {
  constructor(
    private readonly deps: KeysDeps,
    private readonly cursors: ListCursors,
  ) {}

  async execute({ tenantId, filters: f, page: p }: ListKeyConfigurationsCommand) {
    const tenant = await tenantOf(this.deps, tenantId);
    const filters = { search: f.search || undefined, providers: sorted(f.providers), statuses: sorted(f.statuses) };
    const scope = { tenantId, list: 'key-configurations', sort: `${p.sort}:${p.order}`, filters };
    const page = await this.deps.repos.keyConfigurations.page(tenantId, {
      ...filters,
      sort: p.sort,
      direction: p.order,
      after: p.cursor ? this.cursors.decode(scope, p.cursor) : undefined,
      limit: p.limit,
    });
    return pageOf(
      'keyConfigurations',
      page.items.map((r) => keyConfigurationView(r, this.deps.registry, tenant)),
      page.last && this.cursors.encode(scope, page.last),
    );
  }
}

export interface ServicePrincipalFilters {
  search?: string;
  disabled?: boolean;
}

export interface ListServicePrincipalsCommand {
  readonly tenantId: string;
  readonly filters: ServicePrincipalFilters;
  readonly page: PageRequest<ServicePrincipalSort>;
}

/** `GET …/service-principals`: searched by name, filtered by disabled, cursor-paged. Never a secret or its hash. */
export class ListServicePrincipals {
  constructor(
    private readonly deps: KeysDeps,
    private readonly cursors: ListCursors,
  ) {}

  async execute({ tenantId, filters: f, page: p }: ListServicePrincipalsCommand) {
    const filters = { search: f.search || undefined, disabled: f.disabled };
    const scope = { tenantId, list: 'service-principals', sort: `${p.sort}:${p.order}`, filters };
    const page = await this.deps.repos.servicePrincipals.page(tenantId, {
      ...filters,
      sort: p.sort,
      direction: p.order,
      after: p.cursor ? this.cursors.decode(scope, p.cursor) : undefined,
      limit: p.limit,
    });
    return pageOf('servicePrincipals', page.items, page.last && this.cursors.encode(scope, page.last));
  }
}

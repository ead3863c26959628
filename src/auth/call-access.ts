import { Injectable } from '@nestjs/common';
import { DifyTargets } from '../config/dify-targets.js';
import type { DifyAppConfig } from '../config/gateway-config.js';
import type { Caller } from './caller.js';
import { CallerAuthService } from './caller-auth.service.js';
import type { Scope } from './scopes.js';
import { GatewayErrors } from '../common/errors/gateway-errors.js';

const ALL_DATASETS = '*';

/** What a route asks of the caller (a row of the /v1 route table has these fields). */
export interface RouteAccess {
  scope: Scope;
  /** A Dify app (default) or the knowledge API. */
  target?: 'app' | 'dataset';
  /** The answer shows every end user: `always`, or `without-user` when the call names none. */
  allUsers?: 'always' | 'without-user';
  user?: { name?: string };
}

/** The facts of one request the decision needs, read by the caller of `decide`. */
export interface AccessRequest {
  params: Record<string, string>;
  /** The call names its end user (the route's user filter is in the query). */
  namesEndUser: boolean;
  appHeader?: string | string[];
}

/** Where the call may go, and whether it may see every end user's data. */
export interface CallAccess {
  target: DifyAppConfig;
  allUsers: boolean;
}

/**
 * The scope decisions of a /v1 call, in one place: the route's scope, app-wide answers only for
 * keys with `app:all-users`, the app the key is bound to (or the knowledge API and the key's
 * dataset allow-list). Throws the 403/404/400 the caller gets.
 */
@Injectable()
export class CallAccessPolicy {
  constructor(
    private readonly auth: CallerAuthService,
    private readonly targets: DifyTargets,
  ) {}

  decide(caller: Caller, route: RouteAccess, request: AccessRequest): CallAccess {
    this.auth.requireScope(caller, route.scope);
    const allUsers = caller.scopes.includes('app:all-users');
    if (!allUsers && (route.allUsers === 'always' || (route.allUsers === 'without-user' && !request.namesEndUser))) {
      const unless = route.allUsers === 'without-user' ? ` (or filter by ${route.user?.name ?? 'user'})` : '';
      throw GatewayErrors.forbidden(`This endpoint shows data of every end user of the app: it needs the 'app:all-users' scope${unless}.`);
    }
    if (route.target === 'dataset') {
      const target = this.targets.datasetTarget();
      if (!target) throw GatewayErrors.forbidden('This gateway has no knowledge (dataset) key configured.');
      const datasetId = request.params.dataset_id;
      if (datasetId !== undefined && !datasetAllowed(caller, datasetId)) throw GatewayErrors.notFound('Dataset not found.');
      return { target, allUsers };
    }
    const alias = this.auth.resolveApp(caller, request.appHeader);
    const target = this.targets.app(alias);
    if (!target) throw GatewayErrors.forbidden(`This key is bound to app '${alias}', which is not configured on this gateway.`);
    return { target, allUsers };
  }
}

export function datasetAllowed(caller: Caller, datasetId: string): boolean {
  return allDatasets(caller) || caller.datasets.includes(datasetId.toLowerCase());
}

export function allDatasets(caller: Caller): boolean {
  return caller.datasets.includes(ALL_DATASETS);
}

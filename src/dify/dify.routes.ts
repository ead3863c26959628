import { APP_ROUTES } from './app.routes.js';
import type { DifyRoute } from './dify-route.js';
import { KNOWLEDGE_ROUTES } from './knowledge.routes.js';

export { UUID_PARAMS, type BodyKind, type DifyRoute, type HttpMethod, type OwnedKind, type OwnedParam, type RetryClass, type UserField } from './dify-route.js';

/** Every Dify Service API endpoint the gateway exposes (contract §4 for app keys, §5 for knowledge). */
export const DIFY_ROUTES: readonly DifyRoute[] = [...APP_ROUTES, ...KNOWLEDGE_ROUTES];

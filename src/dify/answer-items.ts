import type { DifyRoute } from './dify.routes.js';

/**
 * Removes from a list answer the items of end users outside the caller's namespace, for rows
 * with `userItems` (workflow logs: an older Dify ignores `created_by_end_user_session_id` and
 * lists every end user's runs, §13.8). An item without a session id (a run started from the
 * console) is nobody's in the caller's namespace, so it goes too. Returns whether it removed any.
 */
export function keepOwnItems(route: DifyRoute, answer: Record<string, unknown>, owns: (sessionId: string) => boolean): boolean {
  const spec = route.userItems;
  if (!spec) return false;
  const items = answer[spec.list];
  if (!Array.isArray(items)) return false;
  const kept = items.filter((item) => {
    const session = spec.session.reduce<unknown>((at, key) => (at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined), item);
    return typeof session === 'string' && owns(session);
  });
  if (kept.length === items.length) return false;
  answer[spec.list] = kept;
  return true;
}

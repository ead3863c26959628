import { GatewayErrors } from '../common/errors/gateway-errors.js';

/** Dify stores the end user's id (`session_id`) in a 255-character column. */
export const DIFY_USER_MAX_LENGTH = 255;
/** What Dify calls the end user of a call that names none. */
export const ANONYMOUS_USER = 'DEFAULT-USER';
/** Between a caller's namespace and its `user`. Namespaces cannot contain it. */
export const NAMESPACE_SEPARATOR = ':';

/**
 * One caller's view of Dify's `user` field. Dify scopes conversations, messages, files and stops
 * by `user` alone (SERVICE_API.md §7), and every team of an app shares its key, so the gateway
 * sends `<namespace>:<user>`: two teams that both say `alice` are two end users to Dify. A call
 * without a user becomes `<namespace>:DEFAULT-USER`, not Dify's shared anonymous user. Answers
 * get the prefix removed, so callers see the `user` they sent.
 */
export class UserNamespace {
  readonly prefix: string;
  /** The longest `user` a caller of this namespace may send. */
  readonly maxUserLength: number;

  constructor(readonly namespace: string) {
    if (namespace.length === 0 || namespace.includes(NAMESPACE_SEPARATOR)) throw new Error('invalid namespace');
    this.prefix = namespace + NAMESPACE_SEPARATOR;
    this.maxUserLength = DIFY_USER_MAX_LENGTH - this.prefix.length;
  }

  /** The Dify `user` for a caller's `user`; absent, null or empty means the namespace's anonymous user. */
  wrap(user: string | null | undefined): string {
    if (user === undefined || user === null || user === '') return this.prefix + ANONYMOUS_USER;
    if (user.length > this.maxUserLength) {
      throw GatewayErrors.invalidParam(`user must be at most ${this.maxUserLength} characters through this gateway (it adds the team's namespace).`);
    }
    return this.prefix + user;
  }

  owns(difyUser: string): boolean {
    return difyUser.startsWith(this.prefix);
  }

  /** The caller's `user` for a Dify `user` of this namespace; undefined for anyone else's. */
  unwrap(difyUser: string): string | undefined {
    return this.owns(difyUser) ? difyUser.slice(this.prefix.length) : undefined;
  }
}

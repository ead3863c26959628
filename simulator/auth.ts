/**
 * Bearer-key checks as in Dify's `validate_and_get_api_token` (SERVICE_API.md §1): the key's prefix is
 * not inspected; an app route only knows app keys and a knowledge route only knowledge keys.
 */
import { unauthorized } from './errors.js';

/** The bearer token of an Authorization header, valid or not; undefined when there is none. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^\s*(\S+)\s+(\S.*?)\s*$/.exec(header);
  if (!match || match[1].toLowerCase() !== 'bearer') return undefined;
  return match[2];
}

/** Returns the token once the header is well formed and `isKnown` accepts it; throws 401 otherwise. */
export function authenticate(header: string | undefined, isKnown: (token: string) => boolean): string {
  if (header === undefined || !header.includes(' ')) {
    throw unauthorized("Authorization header must be provided and start with 'Bearer'");
  }
  const [scheme = '', ...rest] = header.trim().split(/\s+/);
  if (scheme.toLowerCase() !== 'bearer') throw unauthorized("Authorization scheme must be 'Bearer'");
  const token = rest.join(' ');
  if (!token || !isKnown(token)) throw unauthorized('Access token is invalid');
  return token;
}

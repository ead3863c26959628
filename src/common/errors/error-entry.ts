import { GatewayError } from '../gateway-error.js';

/** What a factory builds besides its fixed status and code. */
export type ErrorParts = string | { message: string; headers?: Record<string, string>; status?: number; code?: string };

/** `dify`: the status or code is Dify's own, passed through (README, "Errors": "Dify's"). */
export type Fixed<T> = T | 'dify';

/** A named error factory that also says what it answers, so the README table can be checked against it. */
export type ErrorFactory<A extends unknown[]> = ((...args: A) => GatewayError) & { readonly status: Fixed<number>; readonly code: Fixed<string> };

/**
 * One catalog entry. `build` gives the message (and headers); a pass-through entry (`'dify'`)
 * also gives the status or code it passes on.
 */
export function entry<A extends unknown[]>(status: Fixed<number>, code: Fixed<string>, build: (...args: A) => ErrorParts): ErrorFactory<A> {
  const factory = (...args: A): GatewayError => {
    const parts = build(...args);
    const { message, headers = {}, ...own } = typeof parts === 'string' ? { message: parts } : parts;
    const finalStatus = status === 'dify' ? own.status : status;
    const finalCode = code === 'dify' ? own.code : code;
    if (finalStatus === undefined || finalCode === undefined) throw new Error(`error entry ${String(code)}: a pass-through needs its status and code`);
    return new GatewayError(finalStatus, finalCode, message, headers);
  };
  return Object.assign(factory, { status, code });
}

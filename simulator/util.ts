import { randomInt, randomUUID } from 'node:crypto';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function randomAlnum(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALNUM[randomInt(ALNUM.length)];
  return out;
}

/** A key in Dify's format: `app-` or `dataset-` followed by 24 letters and digits. */
export function randomApiKey(prefix: 'app' | 'dataset' = 'app'): string {
  return `${prefix}-${randomAlnum(24)}`;
}

export const newId = (): string => randomUUID();

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

export const isUuid = (value: string): boolean => UUID_RE.test(value);

/** pydantic's lax bool (true/false, 0/1, "true", "yes", "on"... any case); undefined when it is none. */
export function laxBool(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (value === 0 || value === 1) return value === 1;
  if (typeof value !== 'string') return undefined;
  const word = value.trim().toLowerCase();
  if (['1', 'on', 't', 'true', 'y', 'yes'].includes(word)) return true;
  return ['0', 'off', 'f', 'false', 'n', 'no'].includes(word) ? false : undefined;
}

/** pydantic's lax float: a finite number or a string holding one. */
export function laxFloat(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value.trim()) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** Unix epoch seconds, as most Dify timestamps are. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export const toSeconds = (ms: number): number => Math.floor(ms / 1000);

/** Resolves after `ms`, or early (without rejecting) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Splits text into word chunks whose concatenation is exactly the text. */
export function splitIntoWords(text: string): string[] {
  if (text === '') return [];
  return text.split(/(?<=\s)(?=\S)/);
}

/** A rough token count: one per word, at least one. */
export const countTokens = (text: string): number => Math.max(1, splitIntoWords(text).length);

export const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

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

export const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

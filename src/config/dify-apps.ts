/**
 * The Dify apps the gateway can call: `DIFY_API_KEY(_FILE)` (alias `default`) and/or the
 * `DIFY_APPS_FILE` JSON file:
 *
 *   { "apps": { "support": { "apiKeyFile": "/run/secrets/support" },
 *               "billing": { "apiKeyEnv": "BILLING_DIFY_KEY", "baseUrl": "https://dify.internal/v1" } },
 *     "default": "support" }
 *
 * Errors name `DIFY_APPS_FILE`, the file and the alias, never a key.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { checkBaseUrl, isHeaderSafeSecret, isPlaceholder, PLACEHOLDER_REASON, type ConfigIssue } from './env.schema.js';
import { Secret } from './secret.js';
import { displayPath, readSecret, readTextFile } from './secret-file.js';

export interface DifyAppConfig {
  alias: string;
  /** Absolute http(s) URL without trailing `/`, credentials, query or fragment. */
  baseUrl: string;
  apiKey: Secret;
}

export const APP_ALIAS_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** The alias of the app configured by `DIFY_API_KEY` / `DIFY_API_KEY_FILE`. */
export const ENV_APP_ALIAS = 'default';
export const MAX_APPS_FILE_BYTES = 1024 * 1024;

const APPS_FILE = 'DIFY_APPS_FILE';
const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TOP_LEVEL_FIELDS = new Set(['apps', 'default']);
const APP_FIELDS = new Set(['apiKeyFile', 'apiKeyEnv', 'baseUrl']);

export interface DifyAppsInput {
  /** `DIFY_APPS_FILE`, if set. */
  appsFile?: string;
  /** `DIFY_API_KEY` after `_FILE` resolution, if set. */
  envKey?: Secret;
  /** The validated `DIFY_BASE_URL`; undefined when it is invalid (already reported). */
  baseUrl?: string;
  /** `DIFY_ALLOW_INSECURE_HTTP`; undefined when it is invalid (already reported). */
  allowInsecureHttp?: boolean;
  /** The environment, for `apiKeyEnv`. */
  env: Record<string, string | undefined>;
}

export interface DifyAppsResult {
  apps: Record<string, DifyAppConfig>;
  defaultApp?: string;
  issues: ConfigIssue[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Builds the app table; collects every problem instead of stopping at the first. */
export function collectDifyApps(input: DifyAppsInput): DifyAppsResult {
  const apps: Record<string, DifyAppConfig> = Object.create(null) as Record<string, DifyAppConfig>;
  const issues: ConfigIssue[] = [];

  if (input.envKey && input.baseUrl !== undefined) {
    apps[ENV_APP_ALIAS] = { alias: ENV_APP_ALIAS, baseUrl: input.baseUrl, apiKey: input.envKey };
  }

  let fileDefault: string | undefined;
  let fileAliases: string[] = [];
  if (input.appsFile !== undefined) {
    const loaded = loadAppsFile(input.appsFile, input, apps, issues);
    fileDefault = loaded.defaultAlias;
    fileAliases = loaded.aliases;
  }

  let defaultApp: string | undefined;
  if (fileDefault !== undefined) {
    defaultApp = fileDefault;
  } else if (input.envKey) {
    defaultApp = ENV_APP_ALIAS;
  } else if (fileAliases.length === 1) {
    defaultApp = fileAliases[0];
  } else if (fileAliases.includes(ENV_APP_ALIAS)) {
    defaultApp = ENV_APP_ALIAS;
  } else if (fileAliases.length > 1) {
    issues.push({
      variable: APPS_FILE,
      reason: `${displayPath(input.appsFile ?? '')}: set "default" to one of the ${fileAliases.length} apps`,
    });
  }
  return { apps, defaultApp, issues };
}

function loadAppsFile(
  appsFile: string,
  input: DifyAppsInput,
  apps: Record<string, DifyAppConfig>,
  issues: ConfigIssue[],
): { defaultAlias?: string; aliases: string[] } {
  const shown = displayPath(appsFile);
  const problem = (reason: string, related?: string[]): void => {
    issues.push({ variable: APPS_FILE, reason: `${shown}: ${reason}`, ...(related ? { related } : {}) });
  };
  const path = resolve(appsFile);
  const read = readTextFile(path, MAX_APPS_FILE_BYTES, appsFile);
  if (!read.ok) {
    issues.push({ variable: APPS_FILE, reason: read.reason });
    return { aliases: [] };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(read.text);
  } catch {
    // The parser's message quotes the file's content: never show it.
    problem('is not valid JSON');
    return { aliases: [] };
  }
  if (!isRecord(doc) || !isRecord(doc.apps)) {
    problem('must be a JSON object with an "apps" object');
    return { aliases: [] };
  }
  if (Object.keys(doc).some((key) => !TOP_LEVEL_FIELDS.has(key))) {
    problem('unknown top-level field (allowed: apps, default)');
  }

  const aliases: string[] = [];
  const entries = Object.entries(doc.apps);
  if (entries.length === 0) problem('"apps" must define at least one app');
  entries.forEach(([alias, spec], index) => {
    if (!APP_ALIAS_PATTERN.test(alias)) {
      // The alias is not shown: an invalid one may well be a pasted key.
      problem(`app #${index + 1} has an invalid alias (must match ${APP_ALIAS_PATTERN.source})`);
      return;
    }
    aliases.push(alias);
    const app = `app "${alias}"`;
    if (alias === ENV_APP_ALIAS && input.envKey) {
      problem(`${app} is also configured by DIFY_API_KEY; remove one of them`, ['DIFY_API_KEY']);
      return;
    }
    if (!isRecord(spec)) {
      problem(`${app} must be an object`);
      return;
    }
    if ('apiKey' in spec) {
      problem(`${app}: "apiKey" is not allowed (never write keys into this file); use apiKeyFile or apiKeyEnv`);
      return;
    }
    if (Object.keys(spec).some((key) => !APP_FIELDS.has(key))) {
      problem(`${app} has an unknown field (allowed: ${[...APP_FIELDS].join(', ')})`);
    }

    let baseUrl = input.baseUrl;
    if (spec.baseUrl !== undefined) {
      if (typeof spec.baseUrl !== 'string') {
        problem(`${app}: baseUrl must be a string`);
        baseUrl = undefined;
      } else {
        const checked = checkBaseUrl(spec.baseUrl.trim(), input.allowInsecureHttp);
        if (checked.ok) baseUrl = checked.url;
        else {
          problem(`${app}: baseUrl ${checked.reason}`);
          baseUrl = undefined;
        }
      }
    }

    const key = readAppKey(spec, app, appsFile, input.env, problem);
    if (key !== undefined && baseUrl !== undefined) {
      apps[alias] = { alias, baseUrl, apiKey: key };
    }
  });

  let defaultAlias: string | undefined;
  if (doc.default !== undefined) {
    if (typeof doc.default !== 'string' || !APP_ALIAS_PATTERN.test(doc.default)) {
      problem('"default" must be the alias of one of the apps');
    } else if (!aliases.includes(doc.default) && !(doc.default === ENV_APP_ALIAS && input.envKey)) {
      problem(`"default" names app "${doc.default}", which is not defined`);
    } else {
      defaultAlias = doc.default;
    }
  }
  return { defaultAlias, aliases };
}

function readAppKey(
  spec: Record<string, unknown>,
  app: string,
  appsFile: string,
  env: Record<string, string | undefined>,
  problem: (reason: string) => void,
): Secret | undefined {
  const hasFile = spec.apiKeyFile !== undefined;
  const hasEnv = spec.apiKeyEnv !== undefined;
  if (hasFile === hasEnv) {
    problem(`${app} must set exactly one of apiKeyFile and apiKeyEnv`);
    return undefined;
  }
  let value: string;
  if (hasFile) {
    if (typeof spec.apiKeyFile !== 'string' || spec.apiKeyFile.trim() === '') {
      problem(`${app}: apiKeyFile must be a file path`);
      return undefined;
    }
    // Relative key paths are relative to the apps file's folder.
    const written = spec.apiKeyFile.trim();
    const path = isAbsolute(written) ? written : resolve(dirname(resolve(appsFile)), written);
    const read = readSecret(path, APPS_FILE, written);
    if (!read.ok) {
      problem(`${app}: apiKeyFile: ${read.issue.reason}`);
      return undefined;
    }
    value = read.value;
  } else {
    if (typeof spec.apiKeyEnv !== 'string' || !ENV_NAME_PATTERN.test(spec.apiKeyEnv)) {
      // Not shown: a value that is not a variable name may be the key itself.
      problem(`${app}: apiKeyEnv must be an environment variable name`);
      return undefined;
    }
    const raw = env[spec.apiKeyEnv];
    if (raw === undefined || raw.trim() === '') {
      problem(`${app}: apiKeyEnv ${spec.apiKeyEnv} is not set`);
      return undefined;
    }
    value = raw.trim();
  }
  if (!isHeaderSafeSecret(value)) {
    problem(`${app}: the key must be printable ASCII without spaces`);
    return undefined;
  }
  if (isPlaceholder(value)) {
    problem(`${app}: the key ${PLACEHOLDER_REASON}`);
    return undefined;
  }
  return new Secret(value);
}

import { ENV_VARIABLES } from './env/tables.js';

/** One bad or missing variable and a short reason. A reason never contains a variable's value. */
export interface ConfigIssue {
  variable: string;
  reason: string;
  /** Other variables the same problem involves (for instance `X` and `X_FILE` both set). */
  related?: readonly string[];
}

/**
 * Thrown at boot when the environment is invalid. The message names every bad variable with a
 * short reason, for example `Invalid configuration: DIFY_BASE_URL (must be an https:// URL; set
 * DIFY_ALLOW_INSECURE_HTTP=true for plain http), PORT (must be an integer between 1 and 65535)`,
 * and never contains a value.
 */
export class ConfigValidationError extends Error {
  /** Every variable involved, each once, in message order. */
  readonly variables: string[];
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    const sorted = sortIssues(issues);
    const reasons = new Map<string, string[]>();
    for (const issue of sorted) {
      const list = reasons.get(issue.variable) ?? [];
      if (!list.includes(issue.reason)) list.push(issue.reason);
      reasons.set(issue.variable, list);
    }
    const parts = [...reasons].map(([variable, list]) => `${variable} (${list.join('; ')})`);
    super(`Invalid configuration: ${parts.length > 0 ? parts.join(', ') : 'unknown problem'}`);
    this.name = 'ConfigValidationError';
    this.issues = Object.freeze(sorted);
    const variables: string[] = [];
    for (const issue of sorted) {
      for (const name of [issue.variable, ...(issue.related ?? [])]) {
        if (!variables.includes(name)) variables.push(name);
      }
    }
    this.variables = variables;
  }
}

function sortIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const order = (name: string): number => {
    const index = ENV_VARIABLES.indexOf(name);
    return index === -1 ? ENV_VARIABLES.length : index;
  };
  return [...issues].sort((a, b) => order(a.variable) - order(b.variable));
}

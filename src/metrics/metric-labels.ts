import { redactText } from '../common/redact.js';

/** Label values are short identifiers from a closed vocabulary; anything else becomes `other`. */
const LABEL_VALUE = /^[A-Za-z0-9_.:-]{1,64}$/;
const CHECKED_LABELS_MAX = 10_000;
const checkedLabels = new Map<string, string>();

/**
 * Every label value goes through the masking helper and a strict character check, so that no
 * secret or free text can reach `/metrics`: routes are route-table names, apps are configured
 * aliases, keys are key ids, statuses are numbers, reasons come from fixed lists.
 */
export function labelValue(value: string | number | null | undefined, fallback = 'none'): string {
  if (value === null || value === undefined || value === '') return fallback;
  const text = String(value);
  const known = checkedLabels.get(text);
  if (known !== undefined) return known;
  const label = LABEL_VALUE.test(text) && redactText(text) === text ? text : 'other';
  // Label values repeat on every call (route names, aliases, key ids): each is masked once.
  if (checkedLabels.size >= CHECKED_LABELS_MAX) checkedLabels.clear();
  checkedLabels.set(text, label);
  return label;
}

/** Distinct key ids one process labels before the rest share `other` (see KeyLabels). */
export const KEY_LABELS_MAX = 1000;

/**
 * The `key` label, bounded: only authenticated key ids (never a caller's raw input), and at most
 * `max` distinct ones per process; keys seen after that are counted under `other`. Only counters
 * carry it: a histogram would multiply it by routes, statuses and buckets.
 */
export class KeyLabels {
  private readonly seen = new Set<string>();

  constructor(private readonly max = KEY_LABELS_MAX) {}

  value(keyId: string | null | undefined): string {
    if (!keyId) return 'anonymous';
    const label = labelValue(keyId);
    if (this.seen.has(label)) return label;
    if (this.seen.size >= this.max) return 'other';
    this.seen.add(label);
    return label;
  }
}

/** `2xx`, `4xx`, `5xx`: the per-key counter's status, coarse on purpose. */
export function statusClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'other';
}

/**
 * A linter for the Prometheus text exposition format: the rules of `promtool check metrics`
 * (client_golang's promlint) reimplemented, plus the gateway's own (prefix, no per-key label on
 * histograms). Returns one message per problem; an empty list is a clean exposition.
 */
export interface LintOptions {
  prefix: string;
  /** Labels that must never be on a histogram (cardinality). */
  forbiddenHistogramLabels: string[];
}

interface Family {
  name: string;
  type?: string;
  help?: string;
  samples: { name: string; labels: Record<string, string> }[];
}

const NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
/** promlint's non-base units and abbreviations (seconds, bytes, ratios are the base ones). */
const NON_BASE_UNITS =
  /(^|_)(milliseconds|microseconds|nanoseconds|minutes|hours|days|weeks|kilobytes|megabytes|gigabytes|terabytes|kibibytes|mebibytes|gibibytes|ms|us|ns|sec|secs|mins|kb|mb|gb|percent|percentage|celsius|fahrenheit)(_|$)/;
const TYPE_IN_NAME = /(^|_)(counter|gauge|histogram|summary)(_|$)/;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$/;
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function familyOf(sample: string, families: Map<string, Family>): Family | undefined {
  if (families.has(sample)) return families.get(sample);
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (sample.endsWith(suffix)) {
      const f = families.get(sample.slice(0, -suffix.length));
      if (f && (f.type === 'histogram' || f.type === 'summary')) return f;
    }
  }
  return undefined;
}

export function parseExposition(text: string, problems: string[] = []): Map<string, Family> {
  const families = new Map<string, Family>();
  const declare = (name: string) => families.get(name) ?? families.set(name, { name, samples: [] }).get(name)!;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const f = declare(meta[2]);
      if (meta[1] === 'HELP') {
        if (f.help !== undefined) problems.push(`${f.name}: HELP twice (duplicate metric)`);
        f.help = meta[3];
      } else {
        if (f.type !== undefined) problems.push(`${f.name}: TYPE twice (duplicate metric)`);
        f.type = meta[3];
      }
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) {
      problems.push(`unparsable line: ${line}`);
      continue;
    }
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[3] ?? '').matchAll(LABEL_PAIR)) labels[k] = v;
    const f = familyOf(m[1], families);
    if (!f) problems.push(`${m[1]}: sample without a HELP/TYPE family`);
    else f.samples.push({ name: m[1], labels });
    // Go's ParseFloat (Prometheus' parser) takes NaN and Inf in any case; prom-client writes `Nan`.
    if (Number.isNaN(Number(m[4])) && !/^[+-]?(inf|nan)$/i.test(m[4])) problems.push(`${m[1]}: bad value ${m[4]}`);
  }
  return families;
}

export function lintExposition(text: string, options: LintOptions): string[] {
  const problems: string[] = [];
  const families = parseExposition(text, problems);
  for (const f of families.values()) {
    const n = f.name;
    if (!NAME.test(n)) problems.push(`${n}: invalid metric name (colons are for recording rules)`);
    if (n !== n.toLowerCase()) problems.push(`${n}: metric names should be snake_case, not camelCase`);
    if (!n.startsWith(options.prefix)) problems.push(`${n}: missing prefix ${options.prefix}`);
    if (!f.help) problems.push(`${n}: no help text`);
    if (!f.type || !TYPES.has(f.type)) problems.push(`${n}: missing or unknown TYPE`);
    if (f.type === 'counter' && !n.endsWith('_total')) problems.push(`${n}: counter metrics should have "_total" suffix`);
    if (f.type !== 'counter' && n.endsWith('_total')) problems.push(`${n}: non-counter metrics should not have "_total" suffix`);
    if (f.type !== 'histogram' && f.type !== 'summary' && /_(count|sum|bucket)$/.test(n)) {
      problems.push(`${n}: non-histogram and non-summary metrics should not have "_count", "_sum" or "_bucket" suffixes`);
    }
    if (NON_BASE_UNITS.test(n)) problems.push(`${n}: use base units (seconds, bytes, ratio) and no abbreviations`);
    if (TYPE_IN_NAME.test(n.slice(options.prefix.length))) problems.push(`${n}: metric name should not include its type`);
    for (const s of f.samples) {
      for (const label of Object.keys(s.labels)) {
        if (!LABEL.test(label) || label.startsWith('__')) problems.push(`${n}: invalid label name ${label}`);
        if (label !== label.toLowerCase()) problems.push(`${n}: label names should be snake_case, not camelCase (${label})`);
        if (label === 'le' && !(f.type === 'histogram' && s.name === `${n}_bucket`)) problems.push(`${n}: "le" is reserved for histogram buckets`);
        if (label === 'quantile' && f.type !== 'summary') problems.push(`${n}: "quantile" is reserved for summaries`);
        if (f.type === 'histogram' && options.forbiddenHistogramLabels.includes(label)) problems.push(`${n}: histogram with a "${label}" label (cardinality)`);
      }
    }
  }
  return [...new Set(problems)];
}

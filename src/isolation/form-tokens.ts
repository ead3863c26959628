/** A cheap test before an SSE line is parsed. */
export const FORM_TOKEN_NEEDLE = '"form_token"';
const MAX_FORM_DEPTH = 6;
const MAX_FORMS = 20;

/** The `form_token` strings in a Dify event or answer (`data.form_token` of `human_input_required`), bounded in depth and count. */
export function formTokensIn(value: unknown, depth = 0, out: string[] = []): string[] {
  if (depth > MAX_FORM_DEPTH || out.length >= MAX_FORMS || value === null || typeof value !== 'object') return out;
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (key === 'form_token' && typeof item === 'string' && item.length > 0 && item.length <= 200) out.push(item);
    else if (item !== null && typeof item === 'object') formTokensIn(item, depth + 1, out);
    if (out.length >= MAX_FORMS) break;
  }
  return out;
}

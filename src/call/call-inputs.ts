/** What the audit log records of a call's request: its end user, the conversation it continues, its prompt. */
export interface CallInputs {
  endUser: string | null;
  conversationId: string | null;
  /** The query and the inputs, raw (the audit log masks it, and stores it only with AUDIT_STORE_TEXT). */
  promptText: string | null;
}

/**
 * Reads the Dify fields the audit log needs from a JSON body (already parsed, once) or the query
 * string: `user`, `conversation_id`, and `query` and `inputs` only when the prompt is stored at all
 * (`withPrompt`: the inputs are not serialized for nothing). A multipart upload's `user` is a form
 * field that streams through unread, so it is not known here.
 */
export function callInputs(json: Record<string, unknown> | undefined, rawQuery: string, withPrompt: boolean): CallInputs {
  const params = rawQuery === '' ? undefined : new URLSearchParams(rawQuery);
  const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);
  return {
    endUser: text(json?.user) ?? text(params?.get('user')),
    conversationId: text(json?.conversation_id) ?? text(params?.get('conversation_id')),
    promptText: withPrompt ? promptOf(json) : null,
  };
}

function promptOf(json: Record<string, unknown> | undefined): string | null {
  const parts: string[] = [];
  if (typeof json?.query === 'string' && json.query !== '') parts.push(json.query);
  const inputs = json?.inputs;
  if (inputs && typeof inputs === 'object' && Object.keys(inputs).length > 0) parts.push(`inputs: ${JSON.stringify(inputs)}`);
  return parts.length > 0 ? parts.join('\n') : null;
}

import { describe, expect, it } from '@jest/globals';
import { DIFY_ROUTES } from './dify.routes.js';
import { checkQuery } from './query-checks.js';

const rules = (name: string) => DIFY_ROUTES.find((r) => r.name === name)!.query;
const refusal = (name: string, query: string): unknown => {
  try {
    checkQuery(rules(name), query);
    return undefined;
  } catch (error) {
    const { status, code, message } = error as { status: number; code: string; message: string };
    return { status, code, message };
  }
};
const UUID = '0b0e9d7c-1f2a-4c3b-9d8e-7f6a5b4c3d2e';

describe('checkQuery', () => {
  it('refuses a missing required user with Dify message', () => {
    expect(refusal('messages.suggested', '')).toEqual({ status: 400, code: 'invalid_param', message: 'Arg user must be provided.' });
    expect(refusal('workflow.events', 'user=')).toMatchObject({ status: 400, message: 'Arg user must be provided.' });
    expect(refusal('workflow.events', 'user=alice')).toBeUndefined();
  });

  it.each([
    ['conversations.list', 'limit=0'],
    ['conversations.list', 'limit=101'],
    ['conversations.list', 'limit=ten'],
    ['conversations.list', 'sort_by=name'],
    ['conversations.list', 'last_id=abc'],
    ['conversations.variables', 'variable_name=a%27b'],
    ['messages.list', ''],
    ['messages.list', 'conversation_id=abc'],
    ['workflow.logs', 'status=running'],
    ['workflow.logs', 'page=0'],
    ['workflow.logs', 'created_at__before=yesterday'],
    ['feedbacks.list', 'limit=102'],
  ])('refuses %s ?%s', (name, query) => {
    expect(refusal(name, query)).toMatchObject({ status: 400, code: 'invalid_param' });
  });

  it.each([
    ['conversations.list', 'limit=100&sort_by=created_at&last_id='],
    ['conversations.list', `last_id=${UUID}`],
    ['messages.list', `conversation_id=${UUID}&limit=1`],
    ['workflow.logs', 'status=succeeded&created_at__after=2025-01-31T10:00:00Z&created_at__before=2025-02-01'],
    ['feedbacks.list', 'limit=101&page=3'],
    ['conversations.variables', 'variable_name=my_var.v-2'],
  ])('accepts %s ?%s', (name, query) => {
    expect(refusal(name, query)).toBeUndefined();
  });
});

/**
 * Conversations (SERVICE_API.md §4.6): list with `last_id` + `sort_by`, delete (JSON body, 204),
 * rename, and conversation variables. Everything is scoped to the `user`.
 */
import { intParam, jsonBody, userFromJson, userFromQuery } from '../body.js';
import type { AppContext } from '../context.js';
import { badRequest, invalidParam, notFound, validationError } from '../errors.js';
import type { Conversation, ConversationVariable } from '../state.js';
import { isPlainObject, isUuid, laxBool } from '../util.js';
import { requireChatApp } from './mode-guards.js';
import { presentConversation, presentVariable } from './presenters.js';
import { conversationMessages, conversationNameFor, findConversation } from './records.js';

const SORTS = ['created_at', '-created_at', 'updated_at', '-updated_at'] as const;

function compareBy(sortBy: (typeof SORTS)[number]) {
  const descending = sortBy.startsWith('-');
  const field = descending ? sortBy.slice(1) : sortBy;
  return (a: Conversation, b: Conversation): number => {
    const key = (c: Conversation) => (field === 'created_at' ? c.createdAt : c.updatedAt);
    const diff = key(a) - key(b) || a.seq - b.seq;
    return descending ? -diff : diff;
  };
}

export function listConversations(ctx: AppContext): void {
  const model = 'ConversationListQuery';
  const user = userFromQuery(ctx, false);
  requireChatApp(ctx.app);
  const lastId = ctx.query.get('last_id') || undefined;
  if (lastId && !isUuid(lastId)) throw validationError(model, 'last_id', 'Input should be a valid UUID');
  const limit = intParam(ctx, 'limit', 20, 1, 100, model);
  const sortBy = (ctx.query.get('sort_by') || '-updated_at') as (typeof SORTS)[number];
  if (!SORTS.includes(sortBy)) {
    throw validationError(model, 'sort_by', "Input should be 'created_at', '-created_at', 'updated_at' or '-updated_at'");
  }
  const { state } = ctx.sim;
  const endUser = state.endUser(ctx.app, user);
  let conversations = [...state.conversations.values()].filter((c) => c.appId === ctx.app.id && c.endUserId === endUser.id).sort(compareBy(sortBy));
  if (lastId) {
    const index = conversations.findIndex((c) => c.id === lastId.toLowerCase());
    if (index === -1) throw notFound('Last Conversation Not Exists.');
    conversations = conversations.slice(index + 1);
  }
  const page = conversations.slice(0, limit + 1);
  ctx.json(200, { limit, has_more: page.length > limit, data: page.slice(0, limit).map(presentConversation) });
}

export function deleteConversation(ctx: AppContext): void {
  const body = jsonBody(ctx, 'ConversationDeletePayload');
  const user = userFromJson(body, false);
  requireChatApp(ctx.app);
  const { state } = ctx.sim;
  const conversation = findConversation(state, ctx.app, state.endUser(ctx.app, user), ctx.params.conversation_id);
  for (const message of conversationMessages(state, conversation.id)) state.messages.delete(message.id);
  state.conversations.delete(conversation.id);
  ctx.empty(204);
}

export function renameConversation(ctx: AppContext): void {
  const body = jsonBody(ctx, 'ConversationRenamePayload');
  const user = userFromJson(body, false);
  requireChatApp(ctx.app);
  if (body.auto_generate !== undefined && laxBool(body.auto_generate) === undefined) {
    throw validationError('ConversationRenamePayload', 'auto_generate', 'Input should be a valid boolean');
  }
  const autoGenerate = laxBool(body.auto_generate) === true;
  if (body.name !== undefined && body.name !== null && typeof body.name !== 'string') {
    throw validationError('ConversationRenamePayload', 'name', 'Input should be a valid string');
  }
  const name = typeof body.name === 'string' ? body.name : undefined;
  if (!autoGenerate && (name === undefined || name.trim() === '')) {
    throw validationError('ConversationRenamePayload', '', 'Value error, name is required when auto_generate is false');
  }
  const { state } = ctx.sim;
  const conversation = findConversation(state, ctx.app, state.endUser(ctx.app, user), ctx.params.conversation_id);
  if (autoGenerate) {
    const first = conversationMessages(state, conversation.id)[0];
    if (!first) throw invalidParam('Conversation has no messages to generate a name from.');
    conversation.name = conversationNameFor(first.query, true);
  } else {
    conversation.name = name!;
  }
  conversation.updatedAt = Date.now();
  ctx.json(200, presentConversation(conversation));
}

export function listConversationVariables(ctx: AppContext): void {
  const model = 'ConversationVariablesQuery';
  const user = userFromQuery(ctx, false);
  requireChatApp(ctx.app);
  const lastId = ctx.query.get('last_id') || undefined;
  if (lastId && !isUuid(lastId)) throw validationError(model, 'last_id', 'Input should be a valid UUID');
  const limit = intParam(ctx, 'limit', 20, 1, 100, model);
  const variableName = ctx.query.get('variable_name') || undefined;
  if (variableName !== undefined && !/^[A-Za-z0-9_.-]+$/.test(variableName)) {
    throw validationError(
      model,
      'variable_name',
      'Value error, Variable name can only contain letters, numbers, hyphens (-), underscores (_), and periods (.)',
    );
  }
  const { state } = ctx.sim;
  const conversation = findConversation(state, ctx.app, state.endUser(ctx.app, user), ctx.params.conversation_id);
  let variables = conversation.variables.filter((v) => !variableName || v.name.includes(variableName));
  if (lastId) {
    const index = variables.findIndex((v) => v.id === lastId.toLowerCase());
    if (index === -1) throw invalidParam('Last variable not found.');
    variables = variables.slice(index + 1);
  }
  const page = variables.slice(0, limit + 1);
  ctx.json(200, { limit, has_more: page.length > limit, data: page.slice(0, limit).map(presentVariable) });
}

function matchesType(variable: ConversationVariable, value: unknown): boolean {
  switch (variable.valueType) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number';
    case 'object':
      return isPlainObject(value);
    case 'array[string]':
      return Array.isArray(value) && value.every((item) => typeof item === 'string');
  }
}

export function updateConversationVariable(ctx: AppContext): void {
  const body = jsonBody(ctx, 'ConversationVariableUpdatePayload');
  const user = userFromJson(body, false);
  requireChatApp(ctx.app);
  if (!('value' in body)) throw validationError('ConversationVariableUpdatePayload', 'value', 'Field required');
  const { state } = ctx.sim;
  const conversation = findConversation(state, ctx.app, state.endUser(ctx.app, user), ctx.params.conversation_id);
  const variable = conversation.variables.find((v) => v.id === ctx.params.variable_id.toLowerCase());
  if (!variable) throw notFound('Conversation Variable Not Exists.');
  if (!matchesType(variable, body.value)) {
    const actual = Array.isArray(body.value) ? 'array' : body.value === null ? 'null' : typeof body.value;
    throw badRequest(`Type mismatch: variable '${variable.name}' expects ${variable.valueType}, but got ${actual} type`);
  }
  variable.value = body.value;
  variable.updatedAt = Date.now();
  ctx.json(200, presentVariable(variable));
}

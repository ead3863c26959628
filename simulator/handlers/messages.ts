/**
 * GET /messages, POST /messages/{id}/feedbacks, GET /app/feedbacks, GET /messages/{id}/suggested
 * (SERVICE_API.md §4.5). Messages page backwards from `first_id`, oldest→newest within a page.
 */
import { intParam, jsonBody, userFromJson, userFromQuery } from '../body.js';
import type { AppContext } from '../context.js';
import { invalidParam, notFound, validationError } from '../errors.js';
import type { Feedback } from '../state.js';
import { isUuid, newId } from '../util.js';
import { requireChatApp } from './mode-guards.js';
import { presentFeedback, presentMessage } from './presenters.js';
import { conversationMessages, findConversation, findMessage } from './records.js';

export function listMessages(ctx: AppContext): void {
  const model = 'MessageListQuery';
  const user = userFromQuery(ctx, false);
  requireChatApp(ctx.app);
  const conversationId = ctx.query.get('conversation_id');
  if (!conversationId) throw validationError(model, 'conversation_id', 'Field required');
  if (!isUuid(conversationId)) throw validationError(model, 'conversation_id', 'Input should be a valid UUID');
  const firstId = ctx.query.get('first_id') || undefined;
  if (firstId && !isUuid(firstId)) throw validationError(model, 'first_id', 'Input should be a valid UUID');
  const limit = intParam(ctx, 'limit', 20, 1, 100, model);
  const { state } = ctx.sim;
  const endUser = state.endUser(ctx.app, user);
  const conversation = findConversation(state, ctx.app, endUser, conversationId);

  let older = conversationMessages(state, conversation.id); // oldest first
  if (firstId) {
    const index = older.findIndex((m) => m.id === firstId.toLowerCase());
    if (index === -1) throw notFound('First Message Not Exists.');
    older = older.slice(0, index);
  }
  const newestFirst = older.reverse().slice(0, limit + 1);
  const hasMore = newestFirst.length > limit;
  const page = newestFirst.slice(0, limit).reverse();
  ctx.json(200, { limit, has_more: hasMore, data: page.map(presentMessage) });
}

export function createMessageFeedback(ctx: AppContext): void {
  const body = jsonBody(ctx, 'MessageFeedbackPayload');
  const user = userFromJson(body, true);
  const rating = body.rating ?? null;
  if (rating !== null && rating !== 'like' && rating !== 'dislike') {
    throw validationError('MessageFeedbackPayload', 'rating', "Input should be 'like' or 'dislike'");
  }
  if (body.content !== undefined && body.content !== null && typeof body.content !== 'string') {
    throw validationError('MessageFeedbackPayload', 'content', 'Input should be a valid string');
  }
  const content = typeof body.content === 'string' ? body.content : null;
  const { state } = ctx.sim;
  const endUser = state.endUser(ctx.app, user);
  const message = findMessage(state, ctx.app, endUser, ctx.params.message_id);
  const now = Date.now();
  if (rating === null) {
    if (!message.feedback) throw invalidParam('rating cannot be None when feedback not exists');
    message.feedback = null;
  } else if (message.feedback) {
    message.feedback = { ...message.feedback, rating, content, updatedAt: now };
  } else {
    const feedback: Feedback = {
      id: newId(),
      appId: ctx.app.id,
      messageId: message.id,
      conversationId: message.conversationId,
      rating,
      content,
      fromEndUserId: endUser.id,
      createdAt: now,
      updatedAt: now,
    };
    message.feedback = feedback;
  }
  ctx.json(200, { result: 'success' });
}

export function listAppFeedbacks(ctx: AppContext): void {
  const page = intParam(ctx, 'page', 1, 1, Number.MAX_SAFE_INTEGER, 'FeedbackListQuery');
  const limit = intParam(ctx, 'limit', 20, 1, 101, 'FeedbackListQuery');
  const feedbacks = [...ctx.sim.state.messages.values()]
    .filter((m) => m.appId === ctx.app.id && m.feedback !== null)
    .map((m) => m.feedback!)
    .sort((a, b) => b.updatedAt - a.updatedAt);
  ctx.json(200, { data: feedbacks.slice((page - 1) * limit, page * limit).map(presentFeedback) });
}

export function suggestedQuestions(ctx: AppContext): void {
  const user = userFromQuery(ctx, true);
  requireChatApp(ctx.app);
  const { state } = ctx.sim;
  const message = findMessage(state, ctx.app, state.endUser(ctx.app, user), ctx.params.message_id);
  const topic = message.query.trim().split(/\s+/).slice(0, 4).join(' ') || 'this';
  ctx.json(200, {
    result: 'success',
    data: [`Can you tell me more about ${topic}?`, 'What are the next steps?', 'Can you give an example?'],
  });
}

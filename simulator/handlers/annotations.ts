/** Annotations and annotation reply jobs under /apps/... (SERVICE_API.md §4.9). */
import { intParam, jsonBody } from '../body.js';
import type { AppContext } from '../context.js';
import { DifyApiError, invalidParam, notFound, validationError } from '../errors.js';
import type { Annotation, AnnotationJob } from '../state.js';
import { laxFloat, newId } from '../util.js';
import { presentAnnotation } from './presenters.js';

export function listAnnotations(ctx: AppContext): void {
  const page = intParam(ctx, 'page', 1, 1, Number.MAX_SAFE_INTEGER, 'AnnotationListQuery');
  const limit = Math.min(100, intParam(ctx, 'limit', 20, 1, Number.MAX_SAFE_INTEGER, 'AnnotationListQuery'));
  const keyword = ctx.query.get('keyword')?.toLowerCase() || undefined;
  const annotations = [...ctx.sim.state.annotations.values()]
    .filter((a) => a.appId === ctx.app.id)
    .filter((a) => !keyword || `${a.question}\n${a.answer}`.toLowerCase().includes(keyword))
    .sort((a, b) => b.seq - a.seq);
  ctx.json(200, {
    data: annotations.slice((page - 1) * limit, page * limit).map(presentAnnotation),
    has_more: page * limit < annotations.length,
    limit,
    total: annotations.length,
    page,
  });
}

function questionAndAnswer(body: Record<string, unknown>): { question: string; answer: string } {
  for (const field of ['question', 'answer']) {
    if (body[field] === undefined || body[field] === null) throw validationError('AnnotationPayload', field, 'Field required');
    if (typeof body[field] !== 'string') throw validationError('AnnotationPayload', field, 'Input should be a valid string');
  }
  return { question: body.question as string, answer: body.answer as string };
}

export function createAnnotation(ctx: AppContext): void {
  const { question, answer } = questionAndAnswer(jsonBody(ctx, 'AnnotationPayload'));
  const { state } = ctx.sim;
  const annotation: Annotation = {
    id: newId(),
    appId: ctx.app.id,
    question,
    answer,
    hitCount: 0,
    createdAt: Date.now(),
    seq: state.nextSeq(),
  };
  state.annotations.set(annotation.id, annotation);
  ctx.json(201, presentAnnotation(annotation));
}

function findAnnotation(ctx: AppContext): Annotation {
  const annotation = ctx.sim.state.annotations.get(ctx.params.annotation_id.toLowerCase());
  if (!annotation || annotation.appId !== ctx.app.id) throw notFound('Annotation not found.');
  return annotation;
}

export function updateAnnotation(ctx: AppContext): void {
  const { question, answer } = questionAndAnswer(jsonBody(ctx, 'AnnotationPayload'));
  const annotation = findAnnotation(ctx);
  annotation.question = question;
  annotation.answer = answer;
  ctx.json(200, presentAnnotation(annotation));
}

export function deleteAnnotation(ctx: AppContext): void {
  ctx.sim.state.annotations.delete(findAnnotation(ctx).id);
  ctx.empty(204);
}

export function setAnnotationReply(ctx: AppContext): void {
  const body = jsonBody(ctx, 'AnnotationReplyActionPayload');
  const action = ctx.params.action;
  if (action !== 'enable' && action !== 'disable') throw invalidParam('Unsupported annotation reply action');
  // The newest controller answers an invalid payload with 422 (§13.4).
  const unprocessable = (message: string) => new DifyApiError(422, 'unprocessable_entity', message);
  for (const field of ['embedding_provider_name', 'embedding_model_name']) {
    if (typeof body[field] !== 'string' || body[field] === '') throw unprocessable(`${field} is required`);
  }
  if (laxFloat(body.score_threshold) === undefined) throw unprocessable('score_threshold must be a number');
  const job: AnnotationJob = { id: newId(), appId: ctx.app.id, action };
  ctx.sim.state.annotationJobs.set(job.id, job);
  ctx.json(200, { job_id: job.id, job_status: 'waiting' });
}

export function getAnnotationReplyStatus(ctx: AppContext): void {
  const job = ctx.sim.state.annotationJobs.get(ctx.params.job_id);
  if (!job || job.appId !== ctx.app.id || job.action !== ctx.params.action) throw notFound('The job does not exist.');
  ctx.json(200, { job_id: job.id, job_status: 'completed', error_msg: '' });
}

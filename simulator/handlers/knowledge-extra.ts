/**
 * The rest of the knowledge API (SERVICE_API.md §5 and §13.1-2): document updates, downloads,
 * statuses, segments, child chunks, metadata, tags, models and the pipeline routes. They check
 * what Dify checks (ids, required body members, their types) and answer with Dify's shapes;
 * segments come from the document text, child chunks and metadata live in memory.
 */
import { jsonBody, multipartBody } from '../body.js';
import type { RequestContext } from '../context.js';
import { DifyApiError, notFound, validationError } from '../errors.js';
import { isPlainObject, newId, nowSeconds } from '../util.js';
import type { KnowledgeBase } from '../knowledge-types.js';
import { document, knowledgeBase, paged, presentDocument, segmentsOf } from './knowledge.js';

interface Metadata {
  id: string;
  name: string;
  type: string;
}
const metadataOf = new WeakMap<KnowledgeBase, Map<string, Metadata>>();
const metadata = (kb: KnowledgeBase): Map<string, Metadata> => {
  if (!metadataOf.has(kb)) metadataOf.set(kb, new Map());
  return metadataOf.get(kb)!;
};
const tags = new Map<string, { id: string; name: string; type: 'knowledge'; binding_count: number }>();

function requireString(body: Record<string, unknown>, model: string, field: string, nonEmpty = true): string {
  const value = body[field];
  if (value === undefined || value === null) throw validationError(model, field, 'Field required');
  if (typeof value !== 'string') throw validationError(model, field, 'Input should be a valid string');
  if (nonEmpty && value.trim() === '') throw validationError(model, field, 'String should have at least 1 character');
  return value;
}

function segment(ctx: RequestContext) {
  const kb = knowledgeBase(ctx);
  const doc = document(ctx, kb);
  const found = segmentsOf(doc).find((s) => s.id === ctx.params.segment_id.toLowerCase());
  if (!found) throw notFound('Segment not found.');
  return { kb, doc, segment: found };
}

const presentSegment = (docId: string, s: { id: string; position: number; content: string }) => ({
  id: s.id,
  position: s.position,
  document_id: docId,
  content: s.content,
  answer: null,
  enabled: true,
  status: 'completed',
  created_at: nowSeconds(),
});

export function updateDocumentByText(ctx: RequestContext): void {
  const kb = knowledgeBase(ctx);
  const doc = document(ctx, kb);
  const body = jsonBody(ctx, 'DocumentTextUpdate');
  if (body.name !== undefined && body.name !== null) doc.name = requireString(body, 'DocumentTextUpdate', 'name', false);
  if (body.text !== undefined && body.text !== null) doc.text = requireString(body, 'DocumentTextUpdate', 'text', false);
  ctx.json(200, { document: presentDocument(doc), batch: doc.batch });
}

export function updateDocumentByFile(ctx: RequestContext): void {
  const kb = knowledgeBase(ctx);
  const doc = document(ctx, kb);
  const form = multipartBody(ctx);
  if (!/^multipart\/form-data/i.test(ctx.req.headers['content-type'] ?? '')) throw new DifyApiError(400, 'no_file_uploaded', 'Please upload your file.');
  const file = form.files.find((f) => f.name === 'file');
  if (form.files.length > 1) throw new DifyApiError(400, 'too_many_files', 'Only one file is allowed.');
  if (file) {
    if (!file.filename) throw new DifyApiError(400, 'filename_not_exists_error', 'The specified filename does not exist.');
    doc.name = file.filename;
    doc.text = file.data.toString('utf8');
  }
  ctx.json(200, { document: presentDocument(doc), batch: doc.batch });
}

export function documentUploadFile(ctx: RequestContext): void {
  const doc = document(ctx, knowledgeBase(ctx));
  ctx.json(200, {
    id: doc.id,
    name: doc.name,
    size: Buffer.byteLength(doc.text),
    extension: 'txt',
    mime_type: 'text/plain',
    url: `/files/${doc.id}/file-preview`,
  });
}

export function downloadDocument(ctx: RequestContext): void {
  const doc = document(ctx, knowledgeBase(ctx));
  ctx.bytes(200, Buffer.from(doc.text, 'utf8'), { 'Content-Type': 'text/plain', 'Content-Disposition': `attachment; filename="${doc.name}"` });
}

export function downloadZip(ctx: RequestContext): void {
  knowledgeBase(ctx);
  jsonBody(ctx, 'DocumentBatchDownloadZipPayload');
  ctx.bytes(200, Buffer.from('PK\u0005\u0006' + '\u0000'.repeat(18), 'binary'), { 'Content-Type': 'application/zip' });
}

export function indexingStatus(ctx: RequestContext): void {
  const kb = knowledgeBase(ctx);
  const docs = [...kb.documents.values()].filter((d) => d.batch === ctx.params.batch);
  if (docs.length === 0) throw notFound('Documents not found.');
  ctx.json(200, {
    data: docs.map((d) => ({ id: d.id, indexing_status: 'completed', completed_segments: segmentsOf(d).length, total_segments: segmentsOf(d).length })),
  });
}

export function setDocumentStatus(ctx: RequestContext): void {
  knowledgeBase(ctx);
  jsonBody(ctx, 'DocumentStatusPayload');
  ctx.json(200, { result: 'success' });
}

export function setDocumentMetadata(ctx: RequestContext): void {
  knowledgeBase(ctx);
  jsonBody(ctx, 'MetadataOperationData');
  ctx.json(200, { result: 'success' });
}

export function createSegments(ctx: RequestContext): void {
  const kb = knowledgeBase(ctx);
  const doc = document(ctx, kb);
  const body = jsonBody(ctx, 'SegmentCreatePayload');
  if (!Array.isArray(body.segments)) throw validationError('SegmentCreatePayload', 'segments', 'Input should be a valid list');
  const added = body.segments.map((s) => (isPlainObject(s) && typeof s.content === 'string' ? s.content : ''));
  doc.text = [doc.text, ...added].filter(Boolean).join('\n\n');
  const all = segmentsOf(doc);
  ctx.json(200, { data: all.slice(all.length - added.length).map((s) => presentSegment(doc.id, s)), doc_form: 'text_model' });
}

export function getSegment(ctx: RequestContext): void {
  const { doc, segment: s } = segment(ctx);
  ctx.json(200, { data: presentSegment(doc.id, s), doc_form: 'text_model' });
}

export function updateSegment(ctx: RequestContext): void {
  const { doc, segment: s } = segment(ctx);
  const body = jsonBody(ctx, 'SegmentUpdatePayload');
  const content = isPlainObject(body.segment) && typeof body.segment.content === 'string' ? body.segment.content : s.content;
  ctx.json(200, { data: presentSegment(doc.id, { ...s, content }), doc_form: 'text_model' });
}

export function deleteSegment(ctx: RequestContext): void {
  segment(ctx);
  ctx.empty(204);
}

export function createChildChunk(ctx: RequestContext): void {
  const { segment: s } = segment(ctx);
  const content = requireString(jsonBody(ctx, 'ChildChunkCreatePayload'), 'ChildChunkCreatePayload', 'content');
  ctx.json(200, {
    data: { id: newId(), segment_id: s.id, content, position: 1, word_count: content.split(/\s+/).length, type: 'customized', created_at: nowSeconds() },
  });
}

export function listChildChunks(ctx: RequestContext): void {
  segment(ctx);
  ctx.json(200, paged(ctx, [], 'ChildChunkListQuery'));
}

/** The simulator keeps no child chunks: an update or delete names an unknown one. */
export function changeChildChunk(ctx: RequestContext): void {
  segment(ctx);
  if (ctx.req.method === 'PATCH') requireString(jsonBody(ctx, 'ChildChunkUpdatePayload'), 'ChildChunkUpdatePayload', 'content');
  throw notFound('Child chunk not found.');
}

export function createMetadata(ctx: RequestContext): void {
  const kb = knowledgeBase(ctx);
  const body = jsonBody(ctx, 'MetadataArgs');
  if (!['string', 'number', 'time'].includes(body.type as string))
    throw validationError('MetadataArgs', 'type', "Input should be 'string', 'number' or 'time'");
  const item = { id: newId(), name: requireString(body, 'MetadataArgs', 'name', false), type: body.type as string };
  if (item.name === '') throw validationError('MetadataArgs', 'name', 'String should have at least 1 character');
  metadata(kb).set(item.id, item);
  ctx.json(201, item);
}

export function listMetadata(ctx: RequestContext): void {
  const kb = knowledgeBase(ctx);
  ctx.json(200, { doc_metadata: [...metadata(kb).values()].map((m) => ({ ...m, count: 0 })), built_in_field_enabled: false });
}

function metadataItem(ctx: RequestContext): { kb: KnowledgeBase; item: Metadata } {
  const kb = knowledgeBase(ctx);
  const item = metadata(kb).get(ctx.params.metadata_id.toLowerCase());
  if (!item) throw notFound('Metadata not found.');
  return { kb, item };
}

export function updateMetadata(ctx: RequestContext): void {
  knowledgeBase(ctx);
  const name = requireString(jsonBody(ctx, 'MetadataUpdatePayload'), 'MetadataUpdatePayload', 'name');
  const { item } = metadataItem(ctx);
  item.name = name;
  ctx.json(200, item);
}

export function deleteMetadata(ctx: RequestContext): void {
  const { kb, item } = metadataItem(ctx);
  metadata(kb).delete(item.id);
  ctx.empty(204);
}

export function builtInMetadata(ctx: RequestContext): void {
  knowledgeBase(ctx);
  ctx.json(200, {
    fields: [
      { name: 'document_name', type: 'string' },
      { name: 'uploader', type: 'string' },
    ],
  });
}

export function toggleBuiltInMetadata(ctx: RequestContext): void {
  knowledgeBase(ctx);
  if (!['enable', 'disable'].includes(ctx.params.action)) throw notFound();
  ctx.json(200, { result: 'success' });
}

export function datasetTags(ctx: RequestContext): void {
  knowledgeBase(ctx);
  ctx.json(200, { data: [], total: 0 });
}

export function listTags(ctx: RequestContext): void {
  ctx.json(200, [...tags.values()]);
}

export function changeTags(ctx: RequestContext): void {
  const body = jsonBody(ctx, 'TagPayload');
  const method = ctx.req.method;
  if (method === 'POST') {
    const tag = { id: newId(), name: requireString(body, 'TagCreatePayload', 'name'), type: 'knowledge' as const, binding_count: 0 };
    tags.set(tag.id, tag);
    return ctx.json(200, tag);
  }
  const id = requireString(body, 'TagPayload', 'tag_id');
  const tag = tags.get(id);
  if (!tag) throw notFound('Tag not found.');
  if (method === 'DELETE') {
    tags.delete(id);
    return ctx.empty(204);
  }
  tag.name = requireString(body, 'TagUpdatePayload', 'name');
  ctx.json(200, tag);
}

export function bindTags(ctx: RequestContext): void {
  jsonBody(ctx, 'TagBindingPayload');
  ctx.empty(204);
}

export function modelsByType(ctx: RequestContext): void {
  ctx.json(200, { data: [] });
}

export function pipelineDatasourcePlugins(ctx: RequestContext): void {
  knowledgeBase(ctx);
  ctx.json(200, []);
}

export function pipelineRun(ctx: RequestContext): void {
  knowledgeBase(ctx);
  jsonBody(ctx, 'PipelineRunPayload');
  ctx.json(200, { batch: newId(), documents: [] });
}

export function pipelineFileUpload(ctx: RequestContext): void {
  const form = multipartBody(ctx);
  const file = form.files.find((f) => f.name === 'file');
  if (!file) throw new DifyApiError(400, 'no_file_uploaded', 'Please upload your file.');
  ctx.json(201, {
    id: newId(),
    name: file.filename ?? 'file',
    size: file.data.length,
    extension: '',
    mime_type: file.contentType ?? '',
    created_at: nowSeconds(),
  });
}

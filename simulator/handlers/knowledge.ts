/**
 * The knowledge (dataset) API, SERVICE_API.md §5, with a knowledge key: knowledge bases (list,
 * create, get, update, delete), retrieval (a word-overlap score over chunks), documents (create
 * by text or file, list, get, delete) and their chunks (list). One workspace: every knowledge key
 * reaches every knowledge base, as in Dify. Lists page with `page`/`limit` and carry `total`.
 */
import { intParam, jsonBody, multipartBody } from '../body.js';
import type { RequestContext } from '../context.js';
import { DifyApiError, notFound, validationError } from '../errors.js';
import type { KnowledgeBase, KnowledgeDocument, SimulatorDataset } from '../knowledge-types.js';
import { newId, toSeconds } from '../util.js';

let sequence = 0;

export function createKnowledgeBase(store: Map<string, KnowledgeBase>, seed: SimulatorDataset): KnowledgeBase {
  const now = Date.now();
  const kb: KnowledgeBase = {
    id: seed.id ?? newId(),
    name: seed.name,
    description: seed.description ?? '',
    createdAt: now,
    updatedAt: now,
    documents: new Map(),
    seq: ++sequence,
  };
  store.set(kb.id, kb);
  for (const doc of seed.documents ?? []) addDocument(kb, doc.name, doc.text, 'text');
  return kb;
}

function addDocument(kb: KnowledgeBase, name: string, text: string, source: KnowledgeDocument['dataSourceType']): KnowledgeDocument {
  const doc: KnowledgeDocument = {
    id: newId(),
    name,
    text,
    position: kb.documents.size + 1,
    createdFrom: 'api',
    dataSourceType: source,
    createdAt: Date.now(),
    batch: `${Date.now()}${Math.floor(Math.random() * 1e6)}`,
  };
  kb.documents.set(doc.id, doc);
  kb.updatedAt = Date.now();
  return doc;
}

/** Chunks: one per paragraph (blank-line separated). */
export function segmentsOf(doc: KnowledgeDocument): { id: string; position: number; content: string }[] {
  return doc.text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean)
    .map((content, i) => ({ id: `${doc.id.slice(0, 24)}${String(i).padStart(12, '0')}`, position: i + 1, content }));
}

const wordCount = (text: string) => text.split(/\s+/).filter(Boolean).length;

function presentDataset(kb: KnowledgeBase) {
  const words = [...kb.documents.values()].reduce((n, d) => n + wordCount(d.text), 0);
  return {
    id: kb.id,
    name: kb.name,
    description: kb.description,
    provider: 'vendor',
    permission: 'only_me',
    data_source_type: 'upload_file',
    indexing_technique: 'high_quality',
    app_count: 0,
    document_count: kb.documents.size,
    word_count: words,
    created_by: 'simulator-owner',
    created_at: toSeconds(kb.createdAt),
    updated_by: 'simulator-owner',
    updated_at: toSeconds(kb.updatedAt),
    embedding_model: 'text-embedding-3-small',
    embedding_model_provider: 'openai',
    embedding_available: true,
    retrieval_model_dict: { search_method: 'semantic_search', reranking_enable: false, top_k: 3, score_threshold_enabled: false, score_threshold: null },
    tags: [],
    doc_form: 'text_model',
    external_knowledge_info: null,
  };
}

export function presentDocument(doc: KnowledgeDocument) {
  return {
    id: doc.id,
    position: doc.position,
    data_source_type: doc.dataSourceType,
    data_source_info: null,
    dataset_process_rule_id: null,
    name: doc.name,
    created_from: doc.createdFrom,
    created_by: 'simulator-owner',
    created_at: toSeconds(doc.createdAt),
    tokens: wordCount(doc.text),
    indexing_status: 'completed',
    error: null,
    enabled: true,
    disabled_at: null,
    disabled_by: null,
    archived: false,
    display_status: 'available',
    word_count: wordCount(doc.text),
    hit_count: 0,
    doc_form: 'text_model',
  };
}

export function paged<T>(ctx: RequestContext, items: T[], model: string) {
  const page = intParam(ctx, 'page', 1, 1, Number.MAX_SAFE_INTEGER, model);
  const limit = Math.min(100, intParam(ctx, 'limit', 20, 1, Number.MAX_SAFE_INTEGER, model));
  return { data: items.slice((page - 1) * limit, page * limit), has_more: page * limit < items.length, limit, total: items.length, page };
}

export function knowledgeBase(ctx: RequestContext): KnowledgeBase {
  const kb = ctx.sim.knowledge.get(ctx.params.dataset_id.toLowerCase());
  if (!kb) throw notFound('Dataset not found.');
  return kb;
}

export function document(ctx: RequestContext, kb: KnowledgeBase): KnowledgeDocument {
  const doc = kb.documents.get(ctx.params.document_id.toLowerCase());
  if (!doc) throw notFound('Document not found.');
  return doc;
}

export function listDatasets(ctx: RequestContext): void {
  const keyword = ctx.query.get('keyword')?.toLowerCase() || undefined;
  const all = [...ctx.sim.knowledge.values()]
    .filter((kb) => !keyword || kb.name.toLowerCase().includes(keyword))
    .sort((a, b) => b.createdAt - a.createdAt || b.seq - a.seq)
    .map(presentDataset);
  ctx.json(200, paged(ctx, all, 'DatasetListQuery'));
}

export function createDataset(ctx: RequestContext): void {
  const body = jsonBody(ctx, 'DatasetCreatePayload');
  if (typeof body.name !== 'string' || body.name.trim() === '') throw validationError('DatasetCreatePayload', 'name', 'Field required');
  if ([...ctx.sim.knowledge.values()].some((kb) => kb.name === body.name)) {
    throw new DifyApiError(409, 'dataset_name_duplicate', 'The dataset name already exists. Please modify your dataset name.');
  }
  const kb = createKnowledgeBase(ctx.sim.knowledge, { name: body.name, description: typeof body.description === 'string' ? body.description : '' });
  ctx.json(200, presentDataset(kb));
}

export function getDataset(ctx: RequestContext): void {
  ctx.json(200, presentDataset(knowledgeBase(ctx)));
}

export function updateDataset(ctx: RequestContext): void {
  const kb = knowledgeBase(ctx);
  const body = jsonBody(ctx, 'DatasetUpdatePayload');
  if (typeof body.name === 'string' && body.name.trim() !== '') kb.name = body.name;
  if (typeof body.description === 'string') kb.description = body.description;
  kb.updatedAt = Date.now();
  ctx.json(200, presentDataset(kb));
}

export function deleteDataset(ctx: RequestContext): void {
  const kb = knowledgeBase(ctx);
  ctx.sim.knowledge.delete(kb.id);
  ctx.empty(204);
}

/** A hit test: chunks ranked by the share of query words they contain. */
export function retrieve(ctx: RequestContext): void {
  const kb = knowledgeBase(ctx);
  const body = jsonBody(ctx, 'HitTestingPayload');
  if (typeof body.query !== 'string' || body.query.trim() === '') throw validationError('HitTestingPayload', 'query', 'Field required');
  const words = new Set(body.query.toLowerCase().split(/\W+/).filter(Boolean));
  const records = [...kb.documents.values()]
    .flatMap((doc) => segmentsOf(doc).map((segment) => ({ doc, segment })))
    .map(({ doc, segment }) => {
      const inSegment = new Set(segment.content.toLowerCase().split(/\W+/));
      const hits = [...words].filter((w) => inSegment.has(w)).length;
      return { doc, segment, score: words.size === 0 ? 0 : hits / words.size };
    })
    .filter((r) => r.score > 0)
    .sort((a, b) => b.score - a.score)
    .slice(0, 3)
    .map(({ doc, segment, score }) => ({
      segment: {
        id: segment.id,
        position: segment.position,
        document_id: doc.id,
        content: segment.content,
        word_count: wordCount(segment.content),
        tokens: wordCount(segment.content),
        keywords: [],
        hit_count: 1,
        enabled: true,
        status: 'completed',
        document: { id: doc.id, data_source_type: doc.dataSourceType, name: doc.name },
      },
      score: Math.round(score * 1000) / 1000,
    }));
  ctx.json(200, { query: { content: body.query }, records });
}

export function createDocumentByText(ctx: RequestContext): void {
  const kb = knowledgeBase(ctx);
  const body = jsonBody(ctx, 'DocumentTextCreatePayload');
  if (typeof body.name !== 'string' || body.name === '') throw validationError('DocumentTextCreatePayload', 'name', 'Field required');
  if (typeof body.text !== 'string' || body.text === '') throw validationError('DocumentTextCreatePayload', 'text', 'Field required');
  const doc = addDocument(kb, body.name, body.text, 'text');
  ctx.json(200, { document: presentDocument(doc), batch: doc.batch });
}

export function createDocumentByFile(ctx: RequestContext): void {
  const kb = knowledgeBase(ctx);
  const form = multipartBody(ctx);
  const file = form.files.find((f) => f.name === 'file');
  if (!file) throw new DifyApiError(400, 'no_file_uploaded', 'Please upload your file.');
  if (form.files.length > 1) throw new DifyApiError(400, 'too_many_files', 'Only one file is allowed.');
  if (!file.filename) throw new DifyApiError(400, 'filename_not_exists_error', 'The specified filename does not exist.');
  if (form.fields.data !== undefined) {
    try {
      JSON.parse(form.fields.data);
    } catch {
      throw validationError('DocumentFileCreatePayload', 'data', 'Invalid JSON');
    }
  }
  const doc = addDocument(kb, file.filename, file.data.toString('utf8'), 'upload_file');
  ctx.json(200, { document: presentDocument(doc), batch: doc.batch });
}

export function listDocuments(ctx: RequestContext): void {
  const kb = knowledgeBase(ctx);
  const keyword = ctx.query.get('keyword')?.toLowerCase() || undefined;
  const docs = [...kb.documents.values()]
    .filter((d) => !keyword || d.name.toLowerCase().includes(keyword))
    .sort((a, b) => b.position - a.position)
    .map(presentDocument);
  ctx.json(200, paged(ctx, docs, 'DocumentListQuery'));
}

export function getDocument(ctx: RequestContext): void {
  ctx.json(200, presentDocument(document(ctx, knowledgeBase(ctx))));
}

export function deleteDocument(ctx: RequestContext): void {
  const kb = knowledgeBase(ctx);
  const doc = document(ctx, kb);
  kb.documents.delete(doc.id);
  ctx.empty(204);
}

export function listSegments(ctx: RequestContext): void {
  const kb = knowledgeBase(ctx);
  const doc = document(ctx, kb);
  const segments = segmentsOf(doc).map((s) => ({
    id: s.id,
    position: s.position,
    document_id: doc.id,
    content: s.content,
    answer: null,
    word_count: wordCount(s.content),
    tokens: wordCount(s.content),
    keywords: [],
    hit_count: 0,
    enabled: true,
    status: 'completed',
    created_at: toSeconds(doc.createdAt),
  }));
  ctx.json(200, { ...paged(ctx, segments, 'SegmentListQuery'), doc_form: 'text_model' });
}

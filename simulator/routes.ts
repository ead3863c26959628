/** Every simulated endpoint, one row each (paths below /v1; SERVICE_API.md §4). */
import type { RequestContext } from './context.js';
import { getEndUser, getInfo, getMeta, getParameters, getSite } from './handlers/app-info.js';
import { createAnnotation, deleteAnnotation, getAnnotationReplyStatus, listAnnotations, setAnnotationReply, updateAnnotation } from './handlers/annotations.js';
import { audioToText, textToAudio } from './handlers/audio.js';
import { deleteConversation, listConversations, listConversationVariables, renameConversation, updateConversationVariable } from './handlers/conversations.js';
import { previewFile, uploadFile } from './handlers/files.js';
import { createChatMessage, createCompletionMessage, runWorkflow, stopChatMessage, stopCompletionMessage, stopWorkflowTask } from './handlers/generation.js';
import { getHumanInputForm, submitHumanInputForm } from './handlers/human-input.js';
import {
  createDataset,
  createDocumentByFile,
  createDocumentByText,
  deleteDataset,
  deleteDocument,
  getDataset,
  getDocument,
  listDatasets,
  listDocuments,
  listSegments,
  retrieve,
  updateDataset,
} from './handlers/knowledge.js';
import { createMessageFeedback, listAppFeedbacks, listMessages, suggestedQuestions } from './handlers/messages.js';
import {
  bindTags,
  builtInMetadata,
  changeChildChunk,
  changeTags,
  createChildChunk,
  createMetadata,
  createSegments,
  datasetTags,
  deleteMetadata,
  deleteSegment,
  documentUploadFile,
  downloadDocument,
  downloadZip,
  getSegment,
  indexingStatus,
  listChildChunks,
  listMetadata,
  listTags,
  modelsByType,
  pipelineDatasourcePlugins,
  pipelineFileUpload,
  pipelineRun,
  setDocumentMetadata,
  setDocumentStatus,
  toggleBuiltInMetadata,
  updateDocumentByFile,
  updateDocumentByText,
  updateMetadata,
  updateSegment,
} from './handlers/knowledge-extra.js';
import { getWorkflowRun, listWorkflowLogs, streamWorkflowEvents } from './handlers/workflow-runs.js';
import { appRoute, datasetRoute, publicRoute, type Route } from './router.js';

function welcome(ctx: RequestContext): void {
  ctx.json(200, { welcome: 'Dify OpenAPI', api_version: 'v1', server_version: '1.19.0' });
}

export const ROUTES: Route[] = [
  publicRoute('GET', '/', welcome),

  // Generation
  appRoute('POST', '/chat-messages', createChatMessage),
  appRoute('POST', '/chat-messages/{task_id}/stop', stopChatMessage),
  appRoute('POST', '/completion-messages', createCompletionMessage),
  appRoute('POST', '/completion-messages/{task_id}/stop', stopCompletionMessage),
  appRoute('POST', '/workflows/run', runWorkflow),
  appRoute('POST', '/workflows/{workflow_id}/run', runWorkflow),
  appRoute('POST', '/workflows/tasks/{task_id}/stop', stopWorkflowTask),

  // Workflow runs and human input
  appRoute('GET', '/workflows/run/{workflow_run_id}', getWorkflowRun),
  appRoute('GET', '/workflows/logs', listWorkflowLogs),
  appRoute('GET', '/workflow/{workflow_run_id}/events', streamWorkflowEvents),
  appRoute('GET', '/form/human_input/{form_token}', getHumanInputForm),
  appRoute('POST', '/form/human_input/{form_token}', submitHumanInputForm),

  // Files and audio
  appRoute('POST', '/files/upload', uploadFile),
  appRoute('GET', '/files/{file_id:uuid}/preview', previewFile),
  appRoute('POST', '/audio-to-text', audioToText),
  appRoute('POST', '/text-to-audio', textToAudio),

  // Messages and feedback
  appRoute('GET', '/messages', listMessages),
  appRoute('POST', '/messages/{message_id:uuid}/feedbacks', createMessageFeedback),
  appRoute('GET', '/messages/{message_id:uuid}/suggested', suggestedQuestions),
  appRoute('GET', '/app/feedbacks', listAppFeedbacks),

  // Conversations
  appRoute('GET', '/conversations', listConversations),
  appRoute('DELETE', '/conversations/{conversation_id:uuid}', deleteConversation),
  appRoute('POST', '/conversations/{conversation_id:uuid}/name', renameConversation),
  appRoute('GET', '/conversations/{conversation_id:uuid}/variables', listConversationVariables),
  appRoute('PUT', '/conversations/{conversation_id:uuid}/variables/{variable_id:uuid}', updateConversationVariable),

  // App metadata
  appRoute('GET', '/info', getInfo),
  appRoute('GET', '/parameters', getParameters),
  appRoute('GET', '/meta', getMeta),
  appRoute('GET', '/site', getSite),
  appRoute('GET', '/end-users/{end_user_id:uuid}', getEndUser),

  // Annotations
  appRoute('GET', '/apps/annotations', listAnnotations),
  appRoute('POST', '/apps/annotations', createAnnotation),
  appRoute('PUT', '/apps/annotations/{annotation_id:uuid}', updateAnnotation),
  appRoute('DELETE', '/apps/annotations/{annotation_id:uuid}', deleteAnnotation),
  appRoute('POST', '/apps/annotation-reply/{action}', setAnnotationReply),
  appRoute('GET', '/apps/annotation-reply/{action}/status/{job_id:uuid}', getAnnotationReplyStatus),

  // Knowledge (§5, §13.1-2): knowledge bases, retrieval, documents, chunks, metadata, tags, pipelines
  datasetRoute('GET', '/datasets', listDatasets),
  datasetRoute('POST', '/datasets', createDataset),
  datasetRoute('GET', '/datasets/tags', listTags),
  datasetRoute('POST', '/datasets/tags', changeTags),
  datasetRoute('PATCH', '/datasets/tags', changeTags),
  datasetRoute('DELETE', '/datasets/tags', changeTags),
  datasetRoute('POST', '/datasets/tags/binding', bindTags),
  datasetRoute('POST', '/datasets/tags/unbinding', bindTags),
  datasetRoute('GET', '/workspaces/current/models/model-types/{model_type}', modelsByType),
  datasetRoute('POST', '/datasets/pipeline/file-upload', pipelineFileUpload),
  datasetRoute('GET', '/datasets/{dataset_id:uuid}', getDataset),
  datasetRoute('PATCH', '/datasets/{dataset_id:uuid}', updateDataset),
  datasetRoute('DELETE', '/datasets/{dataset_id:uuid}', deleteDataset),
  datasetRoute('POST', '/datasets/{dataset_id:uuid}/retrieve', retrieve),
  datasetRoute('POST', '/datasets/{dataset_id:uuid}/hit-testing', retrieve),
  datasetRoute('GET', '/datasets/{dataset_id:uuid}/tags', datasetTags),
  datasetRoute('POST', '/datasets/{dataset_id:uuid}/document/create-by-text', createDocumentByText),
  datasetRoute('POST', '/datasets/{dataset_id:uuid}/document/create_by_text', createDocumentByText),
  datasetRoute('POST', '/datasets/{dataset_id:uuid}/document/create-by-file', createDocumentByFile),
  datasetRoute('POST', '/datasets/{dataset_id:uuid}/document/create_by_file', createDocumentByFile),
  datasetRoute('GET', '/datasets/{dataset_id:uuid}/documents', listDocuments),
  datasetRoute('POST', '/datasets/{dataset_id:uuid}/documents/download-zip', downloadZip),
  datasetRoute('POST', '/datasets/{dataset_id:uuid}/documents/metadata', setDocumentMetadata),
  datasetRoute('PATCH', '/datasets/{dataset_id:uuid}/documents/status/{action}', setDocumentStatus),
  datasetRoute('GET', '/datasets/{dataset_id:uuid}/documents/{batch}/indexing-status', indexingStatus),
  datasetRoute('GET', '/datasets/{dataset_id:uuid}/documents/{document_id:uuid}', getDocument),
  datasetRoute('PATCH', '/datasets/{dataset_id:uuid}/documents/{document_id:uuid}', updateDocumentByFile),
  datasetRoute('DELETE', '/datasets/{dataset_id:uuid}/documents/{document_id:uuid}', deleteDocument),
  datasetRoute('POST', '/datasets/{dataset_id:uuid}/documents/{document_id:uuid}/update-by-text', updateDocumentByText),
  datasetRoute('POST', '/datasets/{dataset_id:uuid}/documents/{document_id:uuid}/update_by_text', updateDocumentByText),
  datasetRoute('POST', '/datasets/{dataset_id:uuid}/documents/{document_id:uuid}/update-by-file', updateDocumentByFile),
  datasetRoute('POST', '/datasets/{dataset_id:uuid}/documents/{document_id:uuid}/update_by_file', updateDocumentByFile),
  datasetRoute('GET', '/datasets/{dataset_id:uuid}/documents/{document_id:uuid}/download', downloadDocument),
  datasetRoute('GET', '/datasets/{dataset_id:uuid}/documents/{document_id:uuid}/upload-file', documentUploadFile),
  datasetRoute('GET', '/datasets/{dataset_id:uuid}/documents/{document_id:uuid}/segments', listSegments),
  datasetRoute('POST', '/datasets/{dataset_id:uuid}/documents/{document_id:uuid}/segments', createSegments),
  datasetRoute('GET', '/datasets/{dataset_id:uuid}/documents/{document_id:uuid}/segments/{segment_id:uuid}', getSegment),
  datasetRoute('POST', '/datasets/{dataset_id:uuid}/documents/{document_id:uuid}/segments/{segment_id:uuid}', updateSegment),
  datasetRoute('DELETE', '/datasets/{dataset_id:uuid}/documents/{document_id:uuid}/segments/{segment_id:uuid}', deleteSegment),
  datasetRoute('GET', '/datasets/{dataset_id:uuid}/documents/{document_id:uuid}/segments/{segment_id:uuid}/child_chunks', listChildChunks),
  datasetRoute('POST', '/datasets/{dataset_id:uuid}/documents/{document_id:uuid}/segments/{segment_id:uuid}/child_chunks', createChildChunk),
  datasetRoute(
    'PATCH',
    '/datasets/{dataset_id:uuid}/documents/{document_id:uuid}/segments/{segment_id:uuid}/child_chunks/{child_chunk_id:uuid}',
    changeChildChunk,
  ),
  datasetRoute(
    'DELETE',
    '/datasets/{dataset_id:uuid}/documents/{document_id:uuid}/segments/{segment_id:uuid}/child_chunks/{child_chunk_id:uuid}',
    changeChildChunk,
  ),
  datasetRoute('GET', '/datasets/{dataset_id:uuid}/metadata', listMetadata),
  datasetRoute('POST', '/datasets/{dataset_id:uuid}/metadata', createMetadata),
  datasetRoute('GET', '/datasets/{dataset_id:uuid}/metadata/built-in', builtInMetadata),
  datasetRoute('POST', '/datasets/{dataset_id:uuid}/metadata/built-in/{action}', toggleBuiltInMetadata),
  datasetRoute('PATCH', '/datasets/{dataset_id:uuid}/metadata/{metadata_id:uuid}', updateMetadata),
  datasetRoute('DELETE', '/datasets/{dataset_id:uuid}/metadata/{metadata_id:uuid}', deleteMetadata),
  datasetRoute('GET', '/datasets/{dataset_id:uuid}/pipeline/datasource-plugins', pipelineDatasourcePlugins),
  datasetRoute('POST', '/datasets/{dataset_id:uuid}/pipeline/datasource/nodes/{node_id}/run', pipelineRun),
  datasetRoute('POST', '/datasets/{dataset_id:uuid}/pipeline/run', pipelineRun),
];

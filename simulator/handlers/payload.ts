/** Validation shared by the generation endpoints, with pydantic-like `invalid_param` messages. */
import { badRequest, invalidParam, notFound, validationError } from '../errors.js';
import type { AppRecord, EndUser, SimulatorState } from '../state.js';
import { isPlainObject, isUuid } from '../util.js';

/** `response_mode`: omitted or null means blocking; anything but blocking/streaming is 400. */
export function isStreaming(body: Record<string, unknown>, model: string): boolean {
  const mode = body.response_mode;
  if (mode === undefined || mode === null || mode === 'blocking') return false;
  if (mode === 'streaming') return true;
  throw validationError(model, 'response_mode', "Input should be 'blocking' or 'streaming'");
}

export function requireInputs(body: Record<string, unknown>, model: string): Record<string, unknown> {
  if (body.inputs === undefined) throw validationError(model, 'inputs', 'Field required');
  if (!isPlainObject(body.inputs)) throw validationError(model, 'inputs', 'Input should be a valid dictionary');
  return body.inputs;
}

export function optionalString(body: Record<string, unknown>, field: string, model: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw validationError(model, field, 'Input should be a valid string');
  return value;
}

export function requireString(body: Record<string, unknown>, field: string, model: string): string {
  const value = optionalString(body, field, model);
  if (value === undefined) throw validationError(model, field, 'Field required');
  return value;
}

/** A `workflow_id` to run: the app's published workflow; 400 for a malformed id, 404 for another. */
export function resolveWorkflowId(app: AppRecord, workflowId: string | undefined): string {
  if (workflowId === undefined || workflowId === '') return app.workflowId;
  if (!isUuid(workflowId)) throw badRequest('Invalid workflow ID format. Please provide a valid UUID.');
  if (workflowId.toLowerCase() !== app.workflowId.toLowerCase()) {
    throw notFound(`Workflow not found with id: ${workflowId}`);
  }
  return app.workflowId;
}

interface FileReference {
  type?: unknown;
  transfer_method?: unknown;
  upload_file_id?: unknown;
  url?: unknown;
}

const looksLikeFile = (value: unknown): value is FileReference => isPlainObject(value) && typeof value.transfer_method === 'string';

/**
 * Checks the `files` list and file-typed inputs: a `local_file` must be an upload of this app made
 * under the same `user` (SERVICE_API.md §7), otherwise 400 invalid_param.
 */
export function checkFileReferences(state: SimulatorState, app: AppRecord, endUser: EndUser, files: unknown, inputs: Record<string, unknown>): unknown[] {
  if (files !== undefined && files !== null && !Array.isArray(files)) {
    throw validationError('Payload', 'files', 'Input should be a valid list');
  }
  const references: FileReference[] = [];
  for (const item of Array.isArray(files) ? files : []) {
    if (!looksLikeFile(item)) throw invalidParam('Invalid file object: transfer_method is required');
    references.push(item);
  }
  for (const value of Object.values(inputs)) {
    for (const item of Array.isArray(value) ? value : [value]) if (looksLikeFile(item)) references.push(item);
  }
  for (const ref of references) {
    if (ref.transfer_method === 'local_file') {
      const file = typeof ref.upload_file_id === 'string' ? state.files.get(ref.upload_file_id) : undefined;
      if (!file || file.appId !== app.id || file.endUserId !== endUser.id) throw invalidParam('Invalid upload file');
    } else if (ref.transfer_method === 'remote_url') {
      if (typeof ref.url !== 'string' || ref.url === '') throw invalidParam('Missing file url');
    } else {
      throw invalidParam(`Invalid transfer method: ${String(ref.transfer_method)}`);
    }
  }
  return Array.isArray(files) ? files : [];
}

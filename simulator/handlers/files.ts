/** POST /files/upload and GET /files/{file_id}/preview (SERVICE_API.md §4.4). */
import { multipartBody, userFromForm } from '../body.js';
import type { AppContext } from '../context.js';
import { DifyApiError, invalidParam } from '../errors.js';
import type { UploadedFile } from '../state.js';
import { newId } from '../util.js';
import { presentUpload } from './presenters.js';

const MB = 1024 * 1024;

/** Dify's default UPLOAD_*_FILE_SIZE_LIMIT per category. */
function sizeLimitFor(mimeType: string): number {
  if (mimeType.startsWith('image/')) return 10 * MB;
  if (mimeType.startsWith('audio/')) return 50 * MB;
  if (mimeType.startsWith('video/')) return 100 * MB;
  return 15 * MB;
}

export function uploadFile(ctx: AppContext): void {
  const form = multipartBody(ctx);
  const user = userFromForm(form, false);
  const filePart = form.files.find((part) => part.name === 'file');
  if (!filePart) throw new DifyApiError(400, 'no_file_uploaded', 'Please upload your file.');
  if (form.files.length > 1) throw new DifyApiError(400, 'too_many_files', 'Only one file is allowed.');
  if (!filePart.contentType) throw new DifyApiError(415, 'unsupported_file_type', 'File type not allowed.');
  const name = filePart.filename ?? '';
  if (!name) throw new DifyApiError(400, 'filename_not_exists_error', 'The specified filename does not exist.');
  if (/[\\/]/.test(name)) throw invalidParam('Filename contains invalid characters.');
  const mimeType = filePart.contentType.split(';')[0].trim();
  const limit = sizeLimitFor(mimeType);
  if (filePart.data.length > limit) {
    throw new DifyApiError(413, 'file_too_large', `File size exceeded. File size exceeded, max size is ${limit / MB}MB.`);
  }

  const { state } = ctx.sim;
  const endUser = state.endUser(ctx.app, user);
  const dot = name.lastIndexOf('.');
  const file: UploadedFile = {
    id: newId(),
    appId: ctx.app.id,
    endUserId: endUser.id,
    name,
    size: filePart.data.length,
    extension: dot > 0 ? name.slice(dot + 1).toLowerCase() : '',
    mimeType,
    data: Buffer.from(filePart.data),
    createdAt: Date.now(),
  };
  state.files.set(file.id, file);
  ctx.json(201, presentUpload(file, ctx.app, ctx.sim.origin));
}

/** Raw bytes with the file's own type; `as_attachment=true` adds Content-Disposition. */
export function previewFile(ctx: AppContext): void {
  const file = ctx.sim.state.files.get(ctx.params.file_id.toLowerCase());
  if (!file) throw new DifyApiError(404, 'file_not_found', 'The requested file was not found.');
  if (file.appId !== ctx.app.id) {
    throw new DifyApiError(403, 'file_access_denied', 'Access to the requested file is denied.');
  }
  const headers: Record<string, string> = { 'Content-Type': file.mimeType };
  if (['true', '1'].includes((ctx.query.get('as_attachment') ?? '').toLowerCase())) {
    headers['Content-Disposition'] = `attachment; filename*=UTF-8''${encodeURIComponent(file.name)}`;
  }
  ctx.bytes(200, file.data, headers);
}

/** GET and POST /form/human_input/{form_token} (SERVICE_API.md §4.3). */
import { jsonBody, userFromJson } from '../body.js';
import type { AppContext } from '../context.js';
import { DifyApiError, notFound, validationError } from '../errors.js';
import { HUMAN_INPUT_FORM } from '../generation/workflow-definition.js';
import type { HumanInputForm } from '../state.js';
import { isPlainObject, toSeconds } from '../util.js';
import { requireWorkflowApp } from './mode-guards.js';

function findOpenForm(ctx: AppContext): HumanInputForm {
  const form = ctx.sim.state.forms.get(ctx.params.form_token);
  if (!form || form.appId !== ctx.app.id) throw notFound('Form not found.');
  if (form.state === 'submitted') {
    throw new DifyApiError(412, 'human_input_form_submitted', 'This form has already been submitted.');
  }
  if (form.state === 'expired' || form.expiresAt < Date.now()) {
    throw new DifyApiError(412, 'human_input_form_expired', 'This form has expired.');
  }
  return form;
}

export function getHumanInputForm(ctx: AppContext): void {
  requireWorkflowApp(ctx.app, { allowChatflow: true });
  const form = findOpenForm(ctx);
  ctx.json(200, {
    form_content: HUMAN_INPUT_FORM.form_content,
    inputs: HUMAN_INPUT_FORM.inputs,
    resolved_default_values: {},
    user_actions: HUMAN_INPUT_FORM.actions,
    expiration_time: toSeconds(form.expiresAt),
  });
}

export function submitHumanInputForm(ctx: AppContext): void {
  const body = jsonBody(ctx, 'HumanInputFormSubmitPayload');
  userFromJson(body, true);
  requireWorkflowApp(ctx.app, { allowChatflow: true });
  // The payload's types are checked before the form is looked up; its action against the form after.
  if (!isPlainObject(body.inputs)) throw validationError('HumanInputFormSubmitPayload', 'inputs', 'Input should be a valid dictionary');
  if (typeof body.action !== 'string') throw validationError('HumanInputFormSubmitPayload', 'action', 'Input should be a valid string');
  const form = findOpenForm(ctx);
  const invalid = (message: string) => new DifyApiError(400, 'invalid_form_data', message);
  if (!HUMAN_INPUT_FORM.actions.some((a) => a.id === body.action)) {
    throw invalid(`Invalid action: ${String(body.action)}`);
  }
  form.state = 'submitted';
  form.resume(body.inputs, body.action);
  ctx.json(200, {});
}

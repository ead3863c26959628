/** GET /info, /parameters, /meta, /site and /end-users/{id} (SERVICE_API.md §4.8). */
import type { AppContext } from '../context.js';
import { DifyApiError } from '../errors.js';
import { presentEndUser } from './presenters.js';

export function getInfo(ctx: AppContext): void {
  ctx.json(200, {
    name: ctx.app.name,
    description: 'An app served by the Dify simulator.',
    tags: [],
    mode: ctx.app.mode,
    author_name: 'Dify Simulator',
  });
}

export function getParameters(ctx: AppContext): void {
  const enabled = (on: boolean) => ({ enabled: on });
  ctx.json(200, {
    opening_statement: 'Hello! I am a simulated Dify app.',
    suggested_questions: ['What can you do?'],
    suggested_questions_after_answer: enabled(true),
    speech_to_text: enabled(true),
    text_to_speech: { enabled: true, voice: 'alloy', language: 'en-US', autoPlay: 'disabled' },
    retriever_resource: enabled(false),
    annotation_reply: enabled(false),
    more_like_this: enabled(false),
    sensitive_word_avoidance: enabled(false),
    user_input_form: [{ 'text-input': { label: 'Topic', variable: 'topic', required: false, default: '', max_length: 256 } }],
    file_upload: {
      image: { enabled: true, number_limits: 3, detail: 'high', transfer_methods: ['remote_url', 'local_file'] },
    },
    system_parameters: {
      file_size_limit: 15,
      image_file_size_limit: 10,
      audio_file_size_limit: 50,
      video_file_size_limit: 100,
      workflow_file_upload_limit: 10,
    },
  });
}

export function getMeta(ctx: AppContext): void {
  ctx.json(200, { tool_icons: {} });
}

export function getSite(ctx: AppContext): void {
  ctx.json(200, {
    title: ctx.app.name,
    chat_color_theme: null,
    chat_color_theme_inverted: false,
    icon_type: 'emoji',
    icon: '🤖',
    icon_background: '#FFEAD5',
    icon_url: null,
    description: 'An app served by the Dify simulator.',
    copyright: null,
    privacy_policy: null,
    input_placeholder: null,
    custom_disclaimer: '',
    default_language: 'en-US',
    show_workflow_steps: true,
    use_icon_as_answer_icon: false,
  });
}

export function getEndUser(ctx: AppContext): void {
  const endUser = ctx.sim.state.endUsers.get(ctx.params.end_user_id.toLowerCase());
  if (!endUser || endUser.appId !== ctx.app.id) {
    throw new DifyApiError(404, 'end_user_not_found', 'End user not found.');
  }
  ctx.json(200, presentEndUser(endUser, ctx.app));
}

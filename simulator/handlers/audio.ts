/** POST /audio-to-text (multipart) and POST /text-to-audio (raw audio bytes) (SERVICE_API.md §4.7). */
import { jsonBody, multipartBody, userFromForm, userFromJson } from '../body.js';
import type { AppContext } from '../context.js';
import { DifyApiError, invalidParam, notFound, validationError } from '../errors.js';

const ACCEPTED_AUDIO = ['audio/mp3', 'audio/m4a', 'audio/wav', 'audio/amr', 'audio/mpga'];
const MAX_AUDIO_BYTES = 30 * 1024 * 1024;

export function audioToText(ctx: AppContext): void {
  const form = multipartBody(ctx);
  const user = userFromForm(form, false);
  const file = form.files.find((part) => part.name === 'file');
  if (!file) throw new DifyApiError(400, 'no_audio_uploaded', 'Please upload your audio.');
  const mimeType = (file.contentType ?? '').split(';')[0].trim().toLowerCase();
  if (!ACCEPTED_AUDIO.includes(mimeType)) throw new DifyApiError(415, 'unsupported_audio_type', 'Audio type not allowed.');
  if (file.data.length > MAX_AUDIO_BYTES) {
    throw new DifyApiError(413, 'audio_too_large', 'Audio size exceeded. Audio size larger than 30 mb');
  }
  ctx.sim.state.endUser(ctx.app, user);
  ctx.json(200, { text: 'This is a simulated transcript.' });
}

/** A short mono 16-bit PCM WAV of silence, long enough to be a real file. */
export function silentWav(durationMs = 100, sampleRate = 8000): Buffer {
  const dataSize = Math.round((sampleRate * durationMs) / 1000) * 2;
  const wav = Buffer.alloc(44 + dataSize);
  wav.write('RIFF', 0, 'ascii');
  wav.writeUInt32LE(36 + dataSize, 4);
  wav.write('WAVE', 8, 'ascii');
  wav.write('fmt ', 12, 'ascii');
  wav.writeUInt32LE(16, 16); // fmt chunk size
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(sampleRate, 24);
  wav.writeUInt32LE(sampleRate * 2, 28); // byte rate
  wav.writeUInt16LE(2, 32); // block align
  wav.writeUInt16LE(16, 34); // bits per sample
  wav.write('data', 36, 'ascii');
  wav.writeUInt32LE(dataSize, 40);
  return wav;
}

export function textToAudio(ctx: AppContext): void {
  const body = jsonBody(ctx, 'TextToAudioPayload');
  const user = userFromJson(body, false);
  for (const field of ['message_id', 'voice', 'text']) {
    if (body[field] !== undefined && body[field] !== null && typeof body[field] !== 'string') {
      throw validationError('TextToAudioPayload', field, 'Input should be a valid string');
    }
  }
  const { state } = ctx.sim;
  state.endUser(ctx.app, user);
  let text = typeof body.text === 'string' ? body.text : '';
  if (typeof body.message_id === 'string' && body.message_id !== '') {
    // Like Dify (AudioService.transcript_tts): the message is looked up by id, whoever its user is.
    const message = state.messages.get(body.message_id.toLowerCase());
    if (!message || message.appId !== ctx.app.id) throw notFound('Message Not Exists.');
    text = message.answer;
  }
  if (text.trim() === '') throw invalidParam('Text is required');
  ctx.bytes(200, silentWav(), { 'Content-Type': 'audio/wav' });
}

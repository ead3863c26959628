import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { Readable, pipeline } from 'node:stream';
import type { Caller } from '../auth/caller.js';
import { allDatasets } from '../auth/call-access.js';
import { GatewayError } from '../common/gateway-error.js';
import type { DifyAppConfig } from '../config/gateway-config.js';
import type { DifyCallResponse } from '../dify/dify.client.js';
import { keepOwnItems } from '../dify/answer-items.js';
import type { DifyRoute, OwnedKind, OwnedParam } from '../dify/dify.routes.js';
import { checkMultipart, forwardedHeaders, readJsonBody } from '../dify/inbound-body.js';
import { readLimited } from '../dify/read-limited.js';
import { SseAnswerRewrite, stringifyDeep, stripNamespace } from './answer-rewrite.js';
import { listAllowedDatasets, type SendUpstream } from './dataset-list.js';
import { FORM_TOKEN_NEEDLE, formTokensIn } from './form-tokens.js';
import { setTopLevelMember } from './json-member.js';
import { MultipartFieldRewrite, multipartBoundary } from './multipart-field.js';
import { rewriteQueryParam } from './query-param.js';
import { ResourceOwnerLedger } from './resource-owner.ledger.js';
import type { UserNamespace } from './user-namespace.js';
import { GatewayErrors } from '../common/errors/gateway-errors.js';

export type { SendUpstream } from './dataset-list.js';

/** A /v1 call the caller may make, and where it goes. */
export interface AdmittedCall {
  route: DifyRoute;
  params: Record<string, string>;
  upstreamPath: string;
  caller: Caller;
  /** The Dify app, or the knowledge API target. */
  target: DifyAppConfig;
  ns: UserNamespace;
  /** The caller may see every end user's data (`app:all-users`). */
  allUsers: boolean;
}

/** The request as it leaves for Dify: the end user in the caller's namespace. */
export interface PreparedRequest {
  rawQuery: string;
  headers: Record<string, string>;
  body?: Buffer | Readable;
  /** The caller's JSON body as sent, before namespacing (what the audit log records of it). */
  json?: Record<string, unknown>;
  /** The answer will be an SSE stream (it counts against the concurrent-streams limit). */
  streaming: boolean;
  /** Set for rewritten uploads: why the body was refused, if it was. */
  multipart?: MultipartFieldRewrite;
}

const IDS_WITHIN_EVENTS = 3;
const JSON_ANSWER_LIMIT = 32 * 1024 * 1024;
/** Another team's resource is answered as Dify answers a missing one (a new error each time: errors carry audit marks). */
const NOT_FOUND: Record<OwnedKind, () => GatewayError> = {
  task: () => GatewayErrors.notFound(),
  workflow_run: () => GatewayErrors.notFound('Workflow run not found.'),
  file: () => GatewayErrors.fileNotFound(),
  form: () => GatewayErrors.notFound('Form not found.'),
  message: () => GatewayErrors.notFound('Message Not Exists.'),
};

/**
 * Isolation between the teams of one Dify app, around each /v1 call the key may make (the scope
 * decisions are src/auth/call-access.ts):
 * - `prepare`: the Dify `user` is put in the caller's namespace in JSON bodies, query strings and
 *   multipart fields (see UserNamespace);
 * - `exchange`: ids Dify does not scope by user (workflow tasks and runs, uploads) are checked
 *   against the owner the gateway recorded, `GET /datasets` is answered from the allow-list, and
 *   the answer loses the namespace again (and its new ids are recorded as the caller's).
 */
@Injectable()
export class IsolationService {
  constructor(private readonly owners: ResourceOwnerLedger) {}

  async prepare(call: AdmittedCall, req: Request, rawQuery: string): Promise<PreparedRequest> {
    const { route, ns } = call;
    const user = route.user;
    const name = user?.name ?? 'user';
    const addWhenAbsent = user?.addWhenAbsent ?? true;
    if (user?.in === 'query') {
      rawQuery = rewriteQueryParam(rawQuery, name, (value) => (value ? ns.wrap(value) : addWhenAbsent ? ns.wrap(undefined) : undefined));
    }
    if (route.body === 'json') {
      const { raw, json } = await readJsonBody(req, route);
      let body = raw;
      if (user?.in === 'json') {
        const value = json[name];
        if (value !== undefined && value !== null && typeof value !== 'string') throw GatewayErrors.invalidParam(`${name} must be a string.`);
        body = setTopLevelMember(raw, name, ns.wrap(value));
      }
      return {
        rawQuery,
        headers: { ...forwardedHeaders(req, false), 'content-type': 'application/json' },
        body,
        json,
        streaming: route.stream === true && json.response_mode === 'streaming',
      };
    }
    if (route.body === 'multipart') {
      checkMultipart(req);
      const headers = forwardedHeaders(req, true);
      if (user?.in !== 'form') return { rawQuery, headers, body: req, streaming: false };
      const boundary = multipartBoundary(req.headers['content-type']);
      if (!boundary) throw GatewayErrors.unsupportedMediaType('This endpoint takes multipart/form-data with one valid boundary.');
      const multipart = new MultipartFieldRewrite(boundary, name, (value) => ns.wrap(value));
      req.pipe(multipart);
      req.on('error', (error) => multipart.destroy(error));
      // A refused body stops going to Dify, but the rest is read so the caller can get its 400.
      multipart.on('error', () => {
        req.unpipe(multipart);
        req.resume();
      });
      // The new length is known only at the end: the body goes to Dify chunked.
      delete headers['content-length'];
      return { rawQuery, headers, body: multipart, streaming: false, multipart };
    }
    return { rawQuery, headers: forwardedHeaders(req, false), streaming: route.stream === true };
  }

  /** Sends the call through `send` (once, or once per allowed dataset) and returns the caller's answer. */
  async exchange(call: AdmittedCall, prepared: PreparedRequest, send: SendUpstream): Promise<DifyCallResponse> {
    const { route } = call;
    if (route.owned) {
      const refused = await this.checkOwner(call, call.route.owned!, call.params[call.route.owned!.param]);
      if (refused === 'ignore') return localJson(200, { result: 'success' });
    }
    const inBody = route.ownedInBody && prepared.json?.[route.ownedInBody.member];
    if (route.ownedInBody && typeof inBody === 'string' && inBody !== '') {
      await this.checkOwner(call, { kind: route.ownedInBody.kind, foreign: 'not_found' }, inBody);
    }
    if (route.listsDatasets && !allDatasets(call.caller)) {
      return listAllowedDatasets(call.target, call.caller.datasets, prepared.rawQuery, send);
    }
    let upstream: DifyCallResponse;
    try {
      upstream = await send({
        app: call.target,
        route,
        upstreamPath: call.upstreamPath,
        rawQuery: prepared.rawQuery,
        headers: prepared.headers,
        body: prepared.body,
      });
    } catch (error) {
      // A refused upload breaks the request stream; the caller hears why, not "Dify unreachable".
      throw prepared.multipart?.failure ?? error;
    }
    return route.target === 'dataset' ? upstream : this.answer(call, upstream);
  }

  /** `ignore` when the call must not reach Dify but be answered like Dify does; throws a 404 otherwise. */
  private async checkOwner(call: AdmittedCall, owned: Pick<OwnedParam, 'kind' | 'foreign'>, resourceId: string): Promise<'ok' | 'ignore'> {
    // Unknown (never handed to anyone through this gateway) is refused like someone else's.
    const owner = await this.owners.ownerOf({ appAlias: call.target.alias, kind: owned.kind, resourceId });
    if (owner === call.ns.namespace) return 'ok';
    if (owned.foreign === 'ignore') return 'ignore';
    if (owner !== null && call.allUsers) return 'ok';
    throw NOT_FOUND[owned.kind]();
  }

  private async answer(call: AdmittedCall, upstream: DifyCallResponse): Promise<DifyCallResponse> {
    const type = upstream.headers['content-type'] ?? '';
    const encoded = (upstream.headers['content-encoding'] ?? 'identity') !== 'identity';
    if (encoded) return upstream;
    if (/^text\/event-stream/i.test(type)) {
      // Dify puts the ids in the first events (`workflow_started`); a stream without them (a plain
      // chat app has no workflow run) is not parsed beyond those.
      const wanted = new Set((call.route.records ?? []).filter((kind) => kind !== 'form'));
      let events = 0;
      // Form tokens come late (a `human_input_required` event when the run pauses): lines that
      // mention one are parsed wherever they are, and the token recorded before it is passed on.
      const forms = call.route.records?.includes('form')
        ? { needle: FORM_TOKEN_NEEDLE, onEvent: (event: Record<string, unknown>) => this.recordForms(call, event) }
        : undefined;
      const rewrite = new SseAnswerRewrite(
        call.ns,
        wanted.size > 0 ? async (event) => (await this.recordIds(call, event, wanted), wanted.size > 0 && ++events < IDS_WITHIN_EVENTS) : undefined,
        forms,
      );
      pipeline(upstream.body, rewrite, () => undefined); // an upstream error reaches the relay through `rewrite`
      return { ...upstream, body: rewrite };
    }
    if (!/^application\/json/i.test(type)) return upstream;
    const raw = await readLimited(upstream.body, JSON_ANSWER_LIMIT);
    let json: unknown;
    try {
      json = raw.length > 0 ? JSON.parse(raw.toString('utf8')) : undefined;
    } catch {
      return { ...upstream, body: Readable.from([raw]) }; // the relay answers 502 for it
    }
    if (json === null || typeof json !== 'object') return { ...upstream, body: Readable.from([raw]) };
    const answer = json as Record<string, unknown>;
    if (call.route.endUserAnswer && typeof answer.session_id === 'string' && !call.ns.owns(answer.session_id) && !call.allUsers) {
      throw GatewayErrors.endUserNotFound();
    }
    if (call.route.records) {
      await this.recordIds(call, answer, new Set(call.route.records));
      if (call.route.records.includes('form')) await this.recordForms(call, answer);
    }
    const filtered = !call.allUsers && keepOwnItems(call.route, answer, (session) => call.ns.owns(session));
    const changed = (raw.includes(call.ns.prefix) && stripNamespace(answer, call.ns)) || filtered;
    const rewritten = changed ? stringifyDeep(answer) : undefined;
    const body = rewritten !== undefined ? Buffer.from(rewritten, 'utf8') : raw;
    return { ...upstream, headers: { ...upstream.headers, 'content-length': String(body.length) }, body: Readable.from([body]) };
  }

  /**
   * Records the ids of `wanted` found in `data` as the caller's (removing them from `wanted`),
   * without waiting: they go in the next group insert, and until then only this process knows them.
   */
  private recordIds(call: AdmittedCall, data: Record<string, unknown>, wanted: Set<OwnedKind>): void {
    const found: { kind: OwnedKind; resourceId: string }[] = [];
    const take = (kind: OwnedKind, value: unknown) => {
      if (wanted.has(kind) && typeof value === 'string' && value.length > 0 && value.length <= 200) {
        found.push({ kind, resourceId: value });
        wanted.delete(kind);
      }
    };
    take('task', data.task_id);
    take('workflow_run', data.workflow_run_id);
    take('message', data.message_id);
    take('file', call.route.records?.includes('file') ? data.id : undefined);
    void this.recordOwners(call, found);
  }

  /**
   * Records every form token in `data` (a pause event, or an answer) as the caller's, committed
   * before the token is passed on: whoever holds it may submit it through any replica at once.
   */
  private async recordForms(call: AdmittedCall, data: Record<string, unknown>): Promise<void> {
    const tokens = formTokensIn(data);
    await this.recordOwners(
      call,
      tokens.map((resourceId) => ({ kind: 'form' as const, resourceId })),
      true,
    );
  }

  /** Never rejects: if the insert fails (the ledger logs it), only a later use of these ids fails (closed). */
  private recordOwners(call: AdmittedCall, found: { kind: OwnedKind; resourceId: string }[], urgent = false): Promise<void> {
    return this.owners.record(
      found.map((f) => ({ ...f, appAlias: call.target.alias, namespace: call.ns.namespace })),
      urgent,
    );
  }
}

/** An answer the gateway gives in Dify's place, without calling it (attempts: 0). */
export function localJson(status: number, body: unknown): DifyCallResponse {
  const bytes = Buffer.from(JSON.stringify(body), 'utf8');
  return {
    status,
    headers: { 'content-type': 'application/json', 'content-length': String(bytes.length) },
    body: Readable.from([bytes]),
    attempts: 0,
    abortReason: () => undefined,
  };
}

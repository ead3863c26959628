import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { AuditSequencer } from '../../src/audit/write/audit-sequencer.js';
import { AuditWriter } from '../../src/audit/write/audit-writer.js';
import { startTestGateway, type TestGateway, type TestGatewayOptions } from './test-gateway.js';
import { TEST_SIGNING_KEY } from './audit-log.js';

/** Keys of the Dify apps `startAuditGateway` configures: `default` (chat) and `flow` (workflow). */
export const CHAT_APP_KEY = 'app-CANARYdifyKEY0123456789';
export const FLOW_APP_KEY = 'app-FLOWflowFLOW0123456789';

/** A file holding the test signing key, as a mounted secret would. */
export function signingKeyFile(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-audit-key-'));
  const file = path.join(dir, 'audit_signing_key');
  writeFileSync(file, `${TEST_SIGNING_KEY}\n`);
  return file;
}

/**
 * The test gateway with the audit log signed and two Dify apps: `default` (chat) and `flow`
 * (workflow), both served by the simulator.
 */
export async function startAuditGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-audit-apps-'));
  const appsFile = path.join(dir, 'apps.json');
  writeFileSync(appsFile, JSON.stringify({ apps: { flow: { apiKeyEnv: 'FLOW_DIFY_KEY' } } }));
  return startTestGateway({
    ...options,
    simulator: {
      apps: [
        { key: CHAT_APP_KEY, mode: 'chat' },
        { key: FLOW_APP_KEY, mode: 'workflow' },
      ],
      answer: 'Hello there',
      ...options.simulator,
    },
    env: { AUDIT_SIGNING_KEY_FILE: signingKeyFile(), DIFY_APPS_FILE: appsFile, FLOW_DIFY_KEY: FLOW_APP_KEY, ...options.env },
  });
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Waits until the writer has nothing queued (the outcome of a call is written after its answer)
 * and everything recorded is sealed into the chain.
 */
export async function auditSettled(gw: TestGateway): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 20));
  await gw.app.get(AuditWriter).flushed();
  await gw.app.get(AuditSequencer).sealNow();
}

export type AuditEvent = Record<string, unknown> & {
  seq: number;
  sealed: boolean;
  id: string;
  type: string;
  call_id: string | null;
  details: Record<string, unknown> | null;
};

/** GET an /audit path with a key; returns the supertest response. */
export function auditGet(gw: TestGateway, key: string, pathAndQuery: string) {
  return request(gw.origin).get(pathAndQuery).set('authorization', `Bearer ${key}`);
}

export function chatBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { inputs: {}, query: 'Hi', user: 'alice', response_mode: 'blocking', ...overrides };
}

export function postV1(gw: TestGateway, key: string, route: string, body: Record<string, unknown>, requestId?: string) {
  const req = request(gw.origin).post(`/v1${route}`).set('authorization', `Bearer ${key}`).set('content-type', 'application/json');
  if (requestId) req.set('x-request-id', requestId);
  return req.send(body);
}

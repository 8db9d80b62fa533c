import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { systemContext } from '../../src/context';
import type { ExportSettings } from '../../src/export/service';
import type { AnyResource } from '../../src/fhir/types';
import { BASE_URL, startHarness, type Harness } from '../http/harness';

export { BASE_URL };

export type Send = (options: { method?: string; url: string; payload?: unknown; headers?: Record<string, string> }) => Promise<LightMyRequestResponse>;

export interface ExportHarness extends Harness {
  dir: string;
  send: Send;
}

/** A server (security off) whose export files go to a fresh folder; settings as given. */
export async function startExportHarness(t: { teardown(fn: () => unknown): void }, settings: Partial<ExportSettings> = {}): Promise<ExportHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'concord-export-'));
  const h = await startHarness({ exports: { settings: { dir, pollSeconds: 0.001, ...settings } } });
  t.teardown(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const send: Send = ({ method = 'GET', url, payload, headers = {} }) =>
    h.request({
      method: method as 'GET',
      url,
      headers: { ...(payload !== undefined ? { 'content-type': 'application/fhir+json' } : {}), ...headers },
      ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
    });
  return { ...h, dir, send };
}

export async function load(storage: Harness['storage'], resources: ReadonlyArray<Record<string, unknown>>): Promise<void> {
  const ctx = systemContext(BASE_URL);
  for (const resource of resources) await storage.update(ctx, resource as AnyResource);
}

export const ASYNC = { prefer: 'respond-async', accept: 'application/fhir+json' };

export const pathOf = (url: string) => new URL(url).pathname + new URL(url).search;

export interface Manifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  output: Array<{ type: string; url: string; count: number }>;
  deleted: Array<{ type: string; url: string; count: number }>;
  error: Array<{ type: string; url: string; count: number }>;
}

/** Polls the status URL until the job is done (never faster than it asks), answering the final response. */
export async function poll(send: Send, statusUrl: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  for (let attempt = 0; attempt < 2000; attempt++) {
    const status = await send({ url: pathOf(statusUrl), headers });
    if (status.statusCode !== 202 && status.statusCode !== 429) return status;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('the export did not finish');
}

/** Kicks off, waits, and reads every output file: the resources by type (ids), and the manifest. */
export async function exportAll(
  send: Send,
  request: { method?: string; url: string; payload?: unknown; headers?: Record<string, string> },
): Promise<{ manifest: Manifest; files: Record<string, AnyResource[]>; statusUrl: string }> {
  const kickoff = await send({ ...request, headers: { ...ASYNC, ...request.headers } });
  if (kickoff.statusCode !== 202) throw new Error(`kick-off answered ${kickoff.statusCode}: ${kickoff.body}`);
  const statusUrl = String(kickoff.headers['content-location']);
  const auth: Record<string, string> = request.headers?.authorization ? { authorization: request.headers.authorization } : {};
  const done = await poll(send, statusUrl, auth);
  if (done.statusCode !== 200) throw new Error(`status answered ${done.statusCode}: ${done.body}`);
  const manifest = JSON.parse(done.body) as Manifest;
  const files: Record<string, AnyResource[]> = {};
  for (const entry of [...manifest.output, ...manifest.deleted, ...manifest.error]) {
    const file = await send({ url: pathOf(entry.url), headers: auth });
    if (file.statusCode !== 200 || file.headers['content-type'] !== 'application/fhir+ndjson') {
      throw new Error(`${entry.url} answered ${file.statusCode} as ${String(file.headers['content-type'])}`);
    }
    const lines = file.body.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as AnyResource);
    (files[entry.type] ??= []).push(...lines);
  }
  return { manifest, files, statusUrl };
}

export const idsOf = (resources: AnyResource[] | undefined) => (resources ?? []).map((resource) => resource.id ?? '').sort();

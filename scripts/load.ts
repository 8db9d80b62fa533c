import { createReadStream, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config';
import { systemContext } from '../src/context';
import { FhirError } from '../src/errors';
import type { Bundle, BundleEntry, OperationOutcome } from '../src/fhir/types';
import { processBundle } from '../src/rest/bundle';
import type { Services } from '../src/interactions/services';
import { createIndexer } from '../src/search/indexer';
import { openStorage } from '../src/storage/open-storage';
import { createValidator } from '../src/validation/validator';
import { stderrProgressBar, type Progress } from './progress-bar';

/**
 * `npm run load -- <files or folders> [--url <base>]`: loads FHIR data.
 * - `*.json`: a batch or transaction Bundle, sent as it is;
 * - `*.ndjson`: one resource per line, upserted (PUT Type/id; POST when a
 *   line has no id) in transactions of NDJSON_CHUNK lines; a chunk that fails
 *   is sent again as a batch, so that one bad line costs only itself.
 * In-process by default: the storage that the server's environment variables
 * name (SQLITE_PATH or MONGODB_URI; stop the server first when it uses the
 * same SQLite file), through the same processBundle as `POST /fhir`. With
 * `--url`, each bundle is POSTed to a running server instead (a bearer token
 * from LOAD_TOKEN when it needs one).
 */

/** Sends one bundle; a refused bundle answers its status and OperationOutcome. */
export type BundleSink = (bundle: Bundle) => Promise<{ status: number; body: Bundle | OperationOutcome }>;

export interface LoadSummary {
  resources: number;
  failed: number;
  seconds: number;
  /** `422 invariant` → how many resources failed that way. */
  errors: Record<string, number>;
}

const NDJSON_CHUNK = 500;

export function inProcessSink(services: Services, baseUrl: string): BundleSink {
  return async (bundle) => {
    try {
      return { status: 200, body: await processBundle(services, systemContext(baseUrl, 'load'), bundle, { maxEntries: Infinity, preference: 'minimal' }) };
    } catch (error) {
      if (!(error instanceof FhirError)) throw error;
      return { status: error.status, body: { resourceType: 'OperationOutcome', issue: error.issues.map((i) => ({ severity: i.severity, code: i.code, diagnostics: i.diagnostics })) } };
    }
  };
}

export function httpSink(baseUrl: string, token?: string): BundleSink {
  return async (bundle) => {
    const response = await fetch(baseUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json', prefer: 'return=minimal', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(bundle),
    });
    return { status: response.status, body: (await response.json()) as Bundle | OperationOutcome };
  };
}

const errorKey = (status: number, outcome?: OperationOutcome): string => `${status} ${outcome?.issue?.[0]?.code ?? 'error'}`;

/** Files to load: folders are walked (sorted), only .json and .ndjson kept. */
export function dataFiles(paths: string[]): string[] {
  return paths.flatMap((path) =>
    statSync(path).isDirectory()
      ? dataFiles(readdirSync(path).sort().map((name) => join(path, name)))
      : /\.(nd)?json$/.test(path)
        ? [path]
        : [],
  );
}

const upsertEntry = (resource: { resourceType: string; id?: string }): BundleEntry => ({
  resource: resource as BundleEntry['resource'],
  request: resource.id ? { method: 'PUT', url: `${resource.resourceType}/${resource.id}` } : { method: 'POST', url: resource.resourceType },
});

export class Loader {
  private readonly summary: LoadSummary = { resources: 0, failed: 0, seconds: 0, errors: {} };
  private readonly started = performance.now();

  constructor(private readonly sink: BundleSink) {}

  private fail(key: string, count: number): void {
    this.summary.failed += count;
    this.summary.errors[key] = (this.summary.errors[key] ?? 0) + count;
  }

  /** Counts what one bundle did: a refused bundle fails all its entries, a batch's failed entries count one by one. */
  private record({ status, body }: Awaited<ReturnType<BundleSink>>, entries: number): void {
    if (status !== 200) {
      this.fail(errorKey(status, body as OperationOutcome), entries);
      return;
    }
    for (const entry of (body as Bundle).entry ?? []) {
      const code = Number(entry.response?.status.slice(0, 3));
      if (code >= 400) this.fail(errorKey(code, entry.response?.outcome as OperationOutcome | undefined), 1);
      else this.summary.resources++;
    }
  }

  async sendBundle(bundle: Bundle): Promise<void> {
    this.record(await this.sink(bundle), bundle.entry?.length ?? 0);
  }

  async loadBundleFile(file: string): Promise<void> {
    let bundle: Bundle;
    try {
      bundle = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      this.fail('unreadable JSON', 1);
      return;
    }
    await this.sendBundle(bundle);
  }

  /** Upserts in a transaction; a failed chunk again as a batch, to keep its good lines. */
  private async sendChunk(lines: Array<{ resourceType: string; id?: string }>): Promise<void> {
    const entry = lines.map(upsertEntry);
    const transaction = await this.sink({ resourceType: 'Bundle', type: 'transaction', entry });
    if (transaction.status === 200) this.record(transaction, entry.length);
    else this.record(await this.sink({ resourceType: 'Bundle', type: 'batch', entry }), entry.length);
  }

  async loadNdjsonFile(file: string, onBytes: (bytes: number) => void): Promise<void> {
    let chunk: Array<{ resourceType: string; id?: string }> = [];
    for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
      onBytes(Buffer.byteLength(line) + 1);
      if (line.trim() === '') continue;
      try {
        chunk.push(JSON.parse(line));
      } catch {
        this.fail('unreadable JSON', 1);
        continue;
      }
      if (chunk.length === NDJSON_CHUNK) {
        await this.sendChunk(chunk);
        chunk = [];
      }
    }
    if (chunk.length > 0) await this.sendChunk(chunk);
  }

  /** Loads every file, reporting progress in kilobytes read. */
  async load(files: string[], progress: Progress = () => {}): Promise<LoadSummary> {
    const totalKb = Math.max(1, Math.round(files.reduce((sum, file) => sum + statSync(file).size, 0) / 1024));
    let doneBytes = 0;
    const advance = (bytes: number) => {
      doneBytes += bytes;
      progress(Math.min(totalKb, Math.round(doneBytes / 1024)), totalKb);
    };
    for (const file of files) {
      if (file.endsWith('.ndjson')) await this.loadNdjsonFile(file, advance);
      else {
        await this.loadBundleFile(file);
        advance(statSync(file).size);
      }
    }
    progress(totalKb, totalKb);
    return { ...this.summary, seconds: (performance.now() - this.started) / 1000 };
  }
}

export function formatSummary(summary: LoadSummary): string {
  const rate = Math.round(summary.resources / Math.max(summary.seconds, 0.001));
  const lines = [`loaded ${summary.resources} resources in ${summary.seconds.toFixed(1)} s (${rate} resources/s), ${summary.failed} failed`];
  for (const [key, count] of Object.entries(summary.errors).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))) lines.push(`  ${count}\t${key}`);
  return lines.join('\n');
}

const USAGE = 'usage: npm run load -- <files or folders of .json bundles and .ndjson> [--url http://host:8080/fhir]\n';

/**
 * Reads the command line with node:util parseArgs: every positional is a
 * path, and `--url` needs a value (`--url=…` works too). Anything else, or no
 * path at all, is a usage error (undefined).
 */
export function parseLoadArgs(argv: string[]): { paths: string[]; url?: string } | undefined {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: { url: { type: 'string' } }, allowPositionals: true, strict: true });
    if (positionals.length === 0 || values.url === '') return undefined;
    return values.url === undefined ? { paths: positionals } : { paths: positionals, url: values.url };
  } catch {
    return undefined;
  }
}

/** The command: answers its exit code (2 for a usage error, 1 when a resource failed). */
export async function main(argv: string[]): Promise<number> {
  const args = parseLoadArgs(argv);
  if (!args) {
    process.stderr.write(USAGE);
    return 2;
  }
  const { paths, url } = args;
  const files = dataFiles(paths);
  let close = async () => {};
  let sink: BundleSink;
  if (url) sink = httpSink(url.replace(/\/+$/, ''), process.env.LOAD_TOKEN);
  else {
    const config = loadConfig();
    const storage = await openStorage(config, createIndexer({ baseUrl: config.baseUrl }));
    close = () => storage.close();
    sink = inProcessSink({ storage, validator: createValidator(), referentialIntegrity: config.referentialIntegrity }, config.baseUrl);
  }
  try {
    const summary = await new Loader(sink).load(files, stderrProgressBar(`loading ${files.length} files (kB)`));
    console.log(formatSummary(summary));
    return summary.failed > 0 ? 1 : 0;
  } finally {
    await close();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  }, (error: unknown) => {
    process.stderr.write(`load: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}

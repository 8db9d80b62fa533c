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
import Database from 'better-sqlite3';
import { buildSecondaryIndexes, deferSecondaryIndexes } from '../src/storage/sqlite/schema';
import { BatchWriter } from './load-pipeline';
import { stderrProgressBar, type Progress } from './progress-bar';

/**
 * `npm run load -- <files or folders> [--url <base>] [--batch <n> | --sequential] [--defer-indexes]`: loads FHIR data.
 * - `*.json`: a batch or transaction Bundle, sent as it is;
 * - `*.ndjson`: one resource per line, upserted (PUT Type/id; POST when a
 *   line has no id) in transactions of NDJSON_CHUNK lines; a chunk that fails
 *   is sent again as a batch, so that one bad line costs only itself.
 * In-process by default: the storage that the server's environment variables
 * name (SQLITE_PATH or MONGODB_URI; stop the server first when it uses the
 * same SQLite file), through the same processBundle as `POST /fhir`, on the
 * batch path (load-pipeline.ts: several bundles a transaction, validated ahead
 * on a worker thread) unless `--sequential`. With
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
  /** The group being read for the batch path: bundles and their texts. */
  private group: { bundles: Bundle[]; texts: string[] } = { bundles: [], texts: [] };
  /** The NDJSON chunks among them: a chunk whose transaction fails is sent again as a batch. */
  private readonly chunks = new WeakSet<Bundle>();

  /** `batch`: the batch path (load-pipeline.ts); without it each bundle goes to `sink` on its own. */
  constructor(
    private readonly sink: BundleSink,
    private readonly batch?: { writer: BatchWriter; bundlesPerTransaction: number },
  ) {}

  /** Adds a bundle to the group; a full group is handed to the batch writer, which answers the group before it. */
  private async enqueue(bundle: Bundle, text: string): Promise<void> {
    this.group.bundles.push(bundle);
    this.group.texts.push(text);
    if (this.group.bundles.length >= this.batch!.bundlesPerTransaction) await this.flush();
  }

  private async flush(last = false): Promise<void> {
    const { bundles, texts } = this.group;
    this.group = { bundles: [], texts: [] };
    const writer = this.batch!.writer;
    const done = bundles.length > 0 ? await writer.send(bundles, texts) : [];
    if (last) done.push(...(await writer.drain()));
    for (const { bundle, result } of done) {
      const entries = bundle.entry?.length ?? 0;
      if (result.status !== 200 && this.chunks.has(bundle)) this.record(await this.sink({ ...bundle, type: 'batch' }), entries);
      else this.record(result, entries);
    }
  }

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
    const text = readFileSync(file, 'utf8');
    try {
      bundle = JSON.parse(text);
    } catch {
      this.fail('unreadable JSON', 1);
      return;
    }
    if (this.batch) await this.enqueue(bundle, text);
    else await this.sendBundle(bundle);
  }

  /** Upserts in a transaction; a failed chunk again as a batch, to keep its good lines. */
  private async sendChunk(lines: Array<{ resourceType: string; id?: string }>): Promise<void> {
    const entry = lines.map(upsertEntry);
    if (this.batch) {
      const bundle: Bundle = { resourceType: 'Bundle', type: 'transaction', entry };
      this.chunks.add(bundle);
      await this.enqueue(bundle, JSON.stringify(bundle));
      return;
    }
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
    if (this.batch) await this.flush(true);
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

const DEFAULT_BATCH = 10;

const USAGE = `usage: npm run load -- <files or folders of .json bundles and .ndjson> [--url http://host:8080/fhir]
  in-process (no --url):
    --batch <n>        bundles per database transaction (default ${DEFAULT_BATCH}); a group that fails is sent again bundle by bundle
    --sequential       one bundle per transaction, validated in the write only (no validation thread)
    --defer-indexes    SQLite, empty database only: build the secondary indexes after the load
`;


export interface LoadArgs {
  paths: string[];
  url?: string;
  /** Bundles per transaction on the batch path; undefined: the sequential path. */
  batch?: number;
  deferIndexes: boolean;
}

/**
 * Reads the command line with node:util parseArgs: every positional is a
 * path, and `--url` and `--batch` need a value (`--url=…` works too). Anything else, or no
 * path at all, is a usage error (undefined).
 */
export function parseLoadArgs(argv: string[]): LoadArgs | undefined {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { url: { type: 'string' }, batch: { type: 'string' }, sequential: { type: 'boolean' }, 'defer-indexes': { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length === 0 || values.url === '') return undefined;
    const batch = values.batch === undefined ? DEFAULT_BATCH : Number(values.batch);
    if (!Number.isInteger(batch) || batch < 1 || (values.sequential && values.batch !== undefined)) return undefined;
    // Over HTTP each bundle is its own request (and the server's transaction): no batch path there.
    if (values.url !== undefined && (values.batch !== undefined || values['defer-indexes'])) return undefined;
    const args: LoadArgs = { paths: positionals, deferIndexes: values['defer-indexes'] === true };
    if (values.url !== undefined) args.url = values.url;
    else if (!values.sequential) args.batch = batch;
    return args;
  } catch {
    return undefined;
  }
}

/** Drops the secondary indexes of an empty SQLite database for the load; answers what builds them again. */
function deferIndexes(sqlitePath: string): (() => void) | undefined {
  const db = new Database(sqlitePath);
  try {
    if (!deferSecondaryIndexes(db)) {
      process.stderr.write('load: --defer-indexes ignored: the database is not empty\n');
      return undefined;
    }
  } finally {
    db.close();
  }
  return () => {
    const started = performance.now();
    const again = new Database(sqlitePath);
    try {
      const built = buildSecondaryIndexes(again);
      process.stderr.write(`load: built ${built} secondary indexes in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    } finally {
      again.close();
    }
  };
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
  let batch: { writer: BatchWriter; bundlesPerTransaction: number } | undefined;
  if (url) sink = httpSink(url.replace(/\/+$/, ''), process.env.LOAD_TOKEN);
  else {
    const config = loadConfig();
    const storage = await openStorage(config, createIndexer({ baseUrl: config.baseUrl }));
    const usesSqlite = !config.mongodbUri && config.sqlitePath !== ':memory:';
    if (args.deferIndexes && !usesSqlite) process.stderr.write('load: --defer-indexes applies to a SQLite file only: ignored\n');
    const buildIndexes = args.deferIndexes && usesSqlite ? deferIndexes(config.sqlitePath) : undefined;
    const services = { storage, validator: createValidator(), referentialIntegrity: config.referentialIntegrity };
    sink = inProcessSink(services, config.baseUrl);
    if (args.batch !== undefined) {
      batch = { writer: new BatchWriter(services, config.baseUrl, { validateAhead: true }), bundlesPerTransaction: args.batch };
    }
    close = async () => {
      await batch?.writer.close();
      await storage.close();
      buildIndexes?.();
    };
  }
  try {
    const summary = await new Loader(sink, batch).load(files, stderrProgressBar(`loading ${files.length} files (kB)`));
    console.log(formatSummary(summary));
    if (batch) {
      const { validatedAhead, validatedInline } = batch.writer.stats;
      console.log(`  validated ahead on the worker thread: ${validatedAhead}, in the write: ${validatedInline}`);
    }
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

import { extname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { AnyResource } from '../../fhir/types';

/** What the worker thread needs to open the file and index like the server does. */
export interface AppendThreadData {
  /** The main database file: the thread opens the access log beside it (audit-log.ts, `auditLogPath`). */
  path: string;
  baseUrl: string;
  fsyncEveryCommit: boolean;
  cacheMb: number;
}

export interface AppendRequest {
  seq: number;
  /**
   * The batch as JSON text. A string crosses to the thread as one copy,
   * where a structured clone of the events walks each of their few dozen
   * objects on the request thread (about a fifth of an audited read's CPU
   * there, measured); the stored body is JSON anyway, so nothing is lost.
   */
  json: string;
}

/** No `error`: the batch is committed. */
export interface AppendResponse {
  seq: number;
  error?: string;
}

interface Waiting {
  resolve: () => void;
  reject: (error: Error) => void;
}

/** Beside this file, as .ts when run from the sources (tests, `tsx`) and .js once built. */
const threadFile = join(__dirname, `append-thread${extname(__filename)}`);

/**
 * A worker thread does not inherit the TypeScript loader of `node --import
 * tsx`: from the sources, the thread registers tsx's CommonJS hook (a dev
 * dependency) before loading its file. The built server runs plain .js.
 */
function startThread(data: AppendThreadData): Worker {
  if (extname(threadFile) !== '.ts') return new Worker(threadFile, { workerData: data });
  return new Worker(`require('tsx/cjs'); require(${JSON.stringify(threadFile)});`, { eval: true, workerData: data });
}

/**
 * Appends batches of AuditEvents to the access log on a worker thread with
 * its own connection to the log's database file (audit-log.ts). The log is
 * a file apart from the main one, so these batches never take the main
 * database's write lock, and the CPU of indexing and inserting runs beside
 * the requests instead of between them.
 *
 * A batch resolves once its transaction has committed, and rejects, writing
 * nothing, when it fails or the thread dies; a dead thread is replaced on the
 * next batch.
 */
export class AppendWorker {
  private worker: Worker | undefined;
  private seq = 0;
  private readonly waiting = new Map<number, Waiting>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly data: AppendThreadData) {}

  append(resources: AnyResource[]): Promise<void> {
    const seq = ++this.seq;
    const written = new Promise<void>((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      const worker = this.thread();
      // Keeps the process alive until the batch is answered (a shutdown waits for it).
      worker.ref();
      worker.postMessage({ seq, json: JSON.stringify(resources) } satisfies AppendRequest);
    });
    this.inFlight.add(written);
    const settled = () => void this.inFlight.delete(written);
    written.then(settled, settled);
    return written;
  }

  /** Waits for the batches in flight (written, failed, or lost with their thread), then stops the thread. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = startThread(this.data);
    worker.on('message', ({ seq, error }: AppendResponse) => {
      const waiting = this.waiting.get(seq);
      this.waiting.delete(seq);
      if (this.waiting.size === 0) worker.unref();
      if (error === undefined) waiting?.resolve();
      else waiting?.reject(new Error(`append failed: ${error}`));
    });
    // 'error' is followed by 'exit': the first one fails the batches; by the second this thread may have a successor.
    const fail = (error: Error) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      for (const waiting of this.waiting.values()) waiting.reject(error);
      this.waiting.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the append thread exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }
}

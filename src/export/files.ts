/**
 * The output files of export jobs: NDJSON under one folder per job, written
 * with mode 0600 in a folder of mode 0700 (they hold PHI at rest,
 * docs/bulk-export.md). A file is written as `name.part` and renamed to its
 * final name only when it is complete, so a crash never leaves a partial
 * file under a name the manifest could list.
 */
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { OutputFile } from './job';

export class ExportFolder {
  constructor(readonly root: string) {}

  /** The job's folder, created empty (anything a crashed run left there is removed). */
  fresh(jobId: string): string {
    const dir = this.dirOf(jobId);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return dir;
  }

  dirOf(jobId: string): string {
    return join(this.root, jobId.replace(/[^A-Za-z0-9-]/g, ''));
  }

  /** The path of a finished file of the job; undefined when there is none of that name. */
  pathOf(jobId: string, name: string): string | undefined {
    if (!/^[A-Za-z]+-\d+\.ndjson$/.test(name)) return undefined;
    const path = join(this.dirOf(jobId), name);
    return existsSync(path) ? path : undefined;
  }

  /**
   * Removes the job's folder. Never throws: a job whose files cannot be
   * removed (the folder is not what it should be) must still be marked
   * failed, cancelled or expired; what is left stays unreachable, since
   * only a completed job's files are served.
   */
  remove(jobId: string): boolean {
    try {
      rmSync(this.dirOf(jobId), { recursive: true, force: true });
      return true;
    } catch {
      return false;
    }
  }
}

interface OpenFile {
  fd: number;
  /** Lines not yet written: a chunk's lines go to disk in one write. */
  pending: string[];
  type: string;
  name: string;
  count: number;
}

/**
 * Writes the lines of one job, one file per type at a time, starting a new
 * one after `maxPerFile` resources (EXPORT_FILE_MAX_RESOURCES).
 */
export class NdjsonWriter {
  private readonly open = new Map<string, OpenFile>();
  private readonly parts = new Map<string, number>();
  readonly finished: OutputFile[] = [];

  constructor(
    private readonly dir: string,
    private readonly maxPerFile: number,
  ) {}

  /** Appends one resource of `type` as one line, to the files named after `prefix` (the type, or `deleted` and `error`). */
  write(type: string, resource: unknown, prefix = type): void {
    let file = this.open.get(prefix);
    if (!file) {
      const part = (this.parts.get(prefix) ?? 0) + 1;
      this.parts.set(prefix, part);
      const name = `${prefix}-${part}.ndjson`;
      file = { fd: openSync(join(this.dir, `${name}.part`), 'w', 0o600), pending: [], type, name, count: 0 };
      this.open.set(prefix, file);
    }
    file.pending.push(`${JSON.stringify(resource)}\n`);
    file.count++;
    if (file.count >= this.maxPerFile) this.complete(prefix, file);
  }

  /** Writes the pending lines of every open file (after each chunk). */
  flush(): void {
    for (const file of this.open.values()) this.flushFile(file);
  }

  private flushFile(file: OpenFile): void {
    if (file.pending.length === 0) return;
    writeSync(file.fd, file.pending.join(''));
    file.pending = [];
  }

  /** Completes every open file: from now on they carry their final names. */
  finish(): OutputFile[] {
    for (const [prefix, file] of [...this.open]) this.complete(prefix, file);
    return this.finished;
  }

  /** Closes without completing (a cancelled or interrupted job). */
  abandon(): void {
    for (const file of this.open.values()) closeSync(file.fd);
    this.open.clear();
  }

  private complete(prefix: string, file: OpenFile): void {
    this.flushFile(file);
    closeSync(file.fd);
    renameSync(join(this.dir, `${file.name}.part`), join(this.dir, file.name));
    this.open.delete(prefix);
    this.finished.push({ type: file.type, name: file.name, count: file.count });
  }
}

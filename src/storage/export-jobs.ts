/**
 * Where Bulk Data export jobs are kept (src/export/): a table or collection
 * of Concord's own, beside the resources, so that a job survives a restart
 * with its original transactionTime. A job is an opaque JSON document to the
 * store; only its id, owner and state are columns, for the limits and the
 * resumption at start-up.
 */
export type ExportJobState = 'running' | 'completed' | 'failed';

export interface StoredExportJob {
  id: string;
  /** The principal that started the job (issuer and subject). */
  owner: string;
  state: ExportJobState;
  /** The whole job as the export module describes it (src/export/job.ts). */
  document: Record<string, unknown>;
}

export interface ExportJobStore {
  insert(job: StoredExportJob): Promise<void>;
  /** Replaces the job's state and document; nothing when it was removed meanwhile (a cancel wins). */
  save(job: StoredExportJob): Promise<void>;
  get(id: string): Promise<StoredExportJob | undefined>;
  /** Every job, or those in `state`. */
  list(state?: ExportJobState): Promise<StoredExportJob[]>;
  remove(id: string): Promise<void>;
  close(): Promise<void>;
}

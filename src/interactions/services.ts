import type { ExportService } from '../export/service';
import type { Storage } from '../storage/port';
import type { ReferentialIntegrity } from '../config';
import type { Validator } from '../validation/validator';

/** What the interactions need; built once at start-up and shared by every request. */
export interface Services {
  storage: Storage;
  validator: Validator;
  /** `REFERENTIAL_INTEGRITY` settings; absent means strict, no exempt types. */
  referentialIntegrity?: ReferentialIntegrity;
  /**
   * Inside a transaction: the `Type/id` of every resource its entries will
   * create or update, which its references may name before they are written.
   */
  plannedTargets?: ReadonlySet<string>;
  /** Bulk Data export (src/export/): set by the HTTP server, which owns its runner and audit. */
  exports?: ExportService;
}

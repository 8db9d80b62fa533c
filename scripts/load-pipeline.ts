import { randomUUID } from 'node:crypto';
import { extname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { systemContext } from '../src/context';
import type { Issue } from '../src/errors';
import { FhirError } from '../src/errors';
import type { Bundle, OperationOutcome } from '../src/fhir/types';
import { servicesInUnit } from '../src/interactions/bundle-services';
import type { Services } from '../src/interactions/services';
import { processBundle } from '../src/rest/bundle';
import type { Validator } from '../src/validation/validator';
import { assignIds } from './load-ids';
import type { ValidatedBundle, ValidateRequest, ValidateResponse } from './load-validate-worker';

/**
 * The loader's batch path (`npm run load`, in-process):
 *
 * - several bundles in one database transaction (one unit of work): each
 *   bundle is processed by the same processBundle as `POST /fhir`, its
 *   entries admitted, validated, checked and indexed as REST writes are,
 *   joining the unit (servicesInUnit). If any bundle of the group fails, the
 *   whole unit rolls back and the group is sent again one bundle per
 *   transaction, so the failing bundle is reported and nothing of it stays,
 *   and the others are loaded;
 * - validation on a worker thread (load-validate-worker.ts): the worker
 *   builds each entry's final body (with the ids the loader chose on the
 *   main thread, load-ids.ts, and fullUrl references replaced) and
 *   validates it with the server's validator. The write still calls the
 *   validator on the body it is about to store; `AheadValidator` answers
 *   the worker's result when that body's JSON is the one the worker
 *   validated, and validates it there and then otherwise;
 * - a group's unit of work does not wait for the worker: while the
 *   worker's answers are not in, the write takes each body as valid
 *   (`speculate`), and before the unit commits every such body is checked
 *   against the worker's answer, or validated then and there
 *   (`settle`). When one of them has any issue the unit rolls back and the
 *   group is written again bundle by bundle with the answers at hand, as
 *   for any failure. So the main thread writes while the worker validates
 *   (the worker's start-up, compiling the validator, is no longer a pause
 *   of the load), and still no resource is committed without its
 *   validation, and each write gets the answer the validator gives its
 *   final body.
 */

export type BundleResult = { status: number; body: Bundle | OperationOutcome };

/** The results the worker computed, looked up by the exact JSON of the body being validated. */
export class AheadValidator implements Validator {
  private readonly results = new Map<string, Issue[]>();
  /** While set: the bodies taken as valid before the worker answered, by JSON (see `speculate`). */
  private taken?: string[];
  hits = 0;
  misses = 0;

  constructor(private readonly validator: Validator) {}

  add(results: Iterable<[string, Issue[]]>): void {
    for (const [key, issues] of results) this.results.set(key, issues);
  }

  /** Drops what the group's writes did not ask for (bodies that came out otherwise). */
  forget(results: Iterable<[string, Issue[]]>): void {
    for (const [key] of results) this.results.delete(key);
  }

  /**
   * From now until `settle`, a body without an answer is answered "no
   * issues" and remembered. Only for writes inside a unit of work that
   * calls `settle` before it commits and rolls back when it says false.
   */
  speculate(): void {
    this.taken = [];
  }

  /**
   * Ends `speculate`: true when every body taken as valid has indeed no
   * issue, by the worker's answer (added by now) or by validating it here.
   */
  settle(): boolean {
    const taken = this.taken ?? [];
    this.taken = undefined;
    let valid = true;
    for (const key of taken) {
      // After the first wrong guess the unit rolls back: the rest need no answer.
      if (valid && this.answer(key, () => JSON.parse(key)).length > 0) valid = false;
    }
    return valid;
  }

  /** Stops taking bodies as valid without checking them (the unit failed anyway). */
  abandon(): void {
    this.taken = undefined;
  }

  validate(resource: unknown): Issue[] {
    const key = JSON.stringify(resource);
    if (this.taken && !this.results.has(key)) {
      this.taken.push(key);
      return [];
    }
    return this.answer(key, () => resource);
  }

  private answer(key: string, body: () => unknown): Issue[] {
    const found = this.results.get(key);
    if (found === undefined) {
      this.misses++;
      return this.validator.validate(body());
    }
    this.results.delete(key);
    this.hits++;
    return found;
  }
}

/** A worker thread validating groups of bundle texts, one request at a time in order. */
class ValidationThread {
  private readonly worker: Worker;
  private seq = 0;
  private readonly waiting = new Map<number, (bundles: ValidatedBundle[]) => void>();

  constructor() {
    // The compiled script runs the compiled worker; under tsx the .ts one (tsx's loader is inherited through execArgv).
    this.worker = new Worker(join(__dirname, `load-validate-worker${extname(__filename)}`));
    this.worker.on('message', ({ seq, bundles }: ValidateResponse) => {
      this.waiting.get(seq)?.(bundles);
      this.waiting.delete(seq);
    });
    this.worker.on('error', (error) => {
      for (const resolve of this.waiting.values()) resolve([]);
      this.waiting.clear();
      process.stderr.write(`load: the validation thread failed (${error.message}); validating on the main thread\n`);
    });
  }

  validate(bundles: ValidateRequest['bundles']): Promise<ValidatedBundle[]> {
    const seq = ++this.seq;
    return new Promise((resolve) => {
      this.waiting.set(seq, resolve);
      const request: ValidateRequest = { seq, bundles };
      this.worker.postMessage(request);
    });
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }
}

/** A group of bundles read and (when a thread validates ahead) being validated. */
interface Group {
  bundles: Bundle[];
  /** Per bundle: fullUrl → the id its POST entry creates (assignIds). */
  ids: Map<string, string>[];
  validated: Promise<ValidatedBundle[]>;
}

export interface BatchOptions {
  /** Validate the next group on a worker thread while the current one is written. */
  validateAhead: boolean;
}

/**
 * Writes groups of bundles, each group in one unit of work, the next group
 * validated ahead meanwhile. `send` takes the group read; its promise
 * resolves with the results of the group before it (the pipeline is one
 * group deep), `drain` with the last.
 */
export class BatchWriter {
  private readonly validator: AheadValidator;
  private readonly services: Services;
  private readonly thread?: ValidationThread;
  private pending?: Group;

  constructor(
    services: Services,
    private readonly baseUrl: string,
    options: BatchOptions,
  ) {
    this.validator = new AheadValidator(services.validator);
    this.services = { ...services, validator: this.validator };
    if (options.validateAhead) this.thread = new ValidationThread();
  }

  get stats(): { validatedAhead: number; validatedInline: number } {
    return { validatedAhead: this.validator.hits, validatedInline: this.validator.misses };
  }

  /** Starts validating `bundles` (their texts) and writes the group sent before; answers that group's results. */
  async send(bundles: Bundle[], texts: string[]): Promise<Array<{ bundle: Bundle; result: BundleResult }>> {
    const ids = bundles.map(assignIds);
    const validated = this.thread ? this.thread.validate(texts.map((text, i) => ({ text, ids: [...ids[i]!] }))) : Promise.resolve([]);
    const group: Group = { bundles, ids, validated };
    const previous = this.pending;
    this.pending = group;
    return previous ? this.write(previous) : [];
  }

  async drain(): Promise<Array<{ bundle: Bundle; result: BundleResult }>> {
    const previous = this.pending;
    this.pending = undefined;
    return previous ? this.write(previous) : [];
  }

  close(): Promise<unknown> {
    return this.thread?.close() ?? Promise.resolve();
  }

  private async write(group: Group): Promise<Array<{ bundle: Bundle; result: BundleResult }>> {
    let results: Array<[string, Issue[]]> | undefined;
    // The worker's answers, once they are needed (at the latest before a unit commits).
    const answers = async () => {
      if (results) return;
      results = (await group.validated).flatMap((bundle) => bundle.results);
      this.validator.add(results);
    };
    const idsOf = (i: number) => group.ids[i] ?? new Map<string, string>();
    try {
      const written = await this.inOneUnit(group.bundles, idsOf, answers);
      return group.bundles.map((bundle, i) => ({ bundle, result: written[i]! }));
    } catch (error) {
      if (!(error instanceof FhirError)) throw error;
      await answers();
      // One bundle failed (or a body taken as valid was not) and the unit rolled back: each bundle again in its own transaction, the failing one reported.
      const alone: Array<{ bundle: Bundle; result: BundleResult }> = [];
      for (const [i, bundle] of group.bundles.entries()) alone.push({ bundle, result: await this.alone(bundle, idsOf(i)) });
      return alone;
    } finally {
      if (results) this.validator.forget(results);
    }
  }

  private async inOneUnit(bundles: Bundle[], idsOf: (i: number) => Map<string, string>, answers: () => Promise<void>): Promise<BundleResult[]> {
    if (bundles.length === 1) {
      // A bundle alone commits in processBundle: nothing to check before its commit, so no speculation.
      await answers();
      return [await this.alone(bundles[0]!, idsOf(0))];
    }
    return this.services.storage.unitOfWork(async (tx) => {
      const inUnit = servicesInUnit(this.services, tx);
      const written: BundleResult[] = [];
      // Without a validation thread there is nothing to wait for: each body is validated as it is written.
      if (this.thread) this.validator.speculate();
      try {
        for (const [i, bundle] of bundles.entries()) {
          // A failed bundle throws: the unit rolls back, and write() sends the group again bundle by bundle.
          const body = await this.process(inUnit, bundle, idsOf(i));
          if (body.type === 'batch-response' && body.entry?.some((entry) => Number(entry.response?.status.slice(0, 3)) >= 400)) {
            // A batch keeps its good entries: the same on its own, so it is not part of a group's unit.
            throw FhirError.of(409, 'conflict', 'a batch entry failed');
          }
          written.push({ status: 200, body });
        }
        await answers();
        if (!this.validator.settle()) throw FhirError.of(422, 'processing', 'a body written ahead of its validation has issues');
      } finally {
        this.validator.abandon();
      }
      return written;
    });
  }

  private async alone(bundle: Bundle, ids: Map<string, string>): Promise<BundleResult> {
    try {
      return { status: 200, body: await this.process(this.services, bundle, ids) };
    } catch (error) {
      if (!(error instanceof FhirError)) throw error;
      return { status: error.status, body: { resourceType: 'OperationOutcome', issue: error.issues.map((i) => ({ severity: i.severity, code: i.code, diagnostics: i.diagnostics })) } };
    }
  }

  private process(services: Services, bundle: Bundle, ids: Map<string, string>): Promise<Bundle> {
    return processBundle(services, systemContext(this.baseUrl, 'load'), bundle, {
      maxEntries: Infinity,
      preference: 'minimal',
      // The ids the worker validated the bodies with; any other POST gets a random one, as over REST.
      newId: (request) => (request.fullUrl !== undefined ? ids.get(request.fullUrl) : undefined) ?? randomUUID(),
    });
  }
}

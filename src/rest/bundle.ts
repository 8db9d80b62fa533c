import type { RequestContext } from '../context';
import type { Bundle } from '../fhir/types';
import { runBundle, type BundleOptions } from '../interactions/bundle';
import type { Services } from '../interactions/services';
import type { OperationDescriptor } from '../operations/descriptor';
import { createRouter } from './router';
import { routeTable } from './routes';
import { serverRouter } from './server-routes';

/**
 * A batch or transaction outside an HTTP request (the loader, the benchmark,
 * tests): the entries are routed by the server's route table, or by one
 * built from `operations` when given.
 */
export function processBundle(
  services: Services,
  ctx: RequestContext,
  body: unknown,
  options: Omit<BundleOptions, 'router'> & { operations?: readonly OperationDescriptor[] },
): Promise<Bundle> {
  const { operations: list, ...rest } = options;
  const router = list ? createRouter(routeTable(list)) : serverRouter();
  return runBundle({ ...services, maxBundleEntries: options.maxEntries }, ctx, body, { ...rest, router });
}

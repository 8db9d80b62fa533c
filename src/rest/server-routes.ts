import type { ClassifiedRequest } from '../security/scopes/classify';
import { operations } from '../operations/registry';
import { classifyPattern, createRouter, type RestRouter } from './router';
import { routeTable } from './routes';

let defaultRouter: RestRouter | undefined;

/** The router of the server's own routes (every registered operation), built once. */
export function serverRouter(): RestRouter {
  return (defaultRouter ??= createRouter(routeTable(operations())));
}

/**
 * How the server's route table classifies `method` at `pattern` (a path of
 * the table, relative to the base, as Fastify reports it).
 */
export function classifyRequest(method: string, pattern: string, params: Record<string, string | undefined>): ClassifiedRequest {
  return classifyPattern(serverRouter().routes, method, pattern, params);
}

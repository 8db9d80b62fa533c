import autocannon from 'autocannon';

export interface LoadResult {
  name: string;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

export interface LoadSpec {
  name: string;
  method: 'GET' | 'POST' | 'PUT';
  /** Called for every request, so each can target another resource. */
  path: () => string;
  body?: () => string;
  /** Static, or per request (called after `path`, so it can follow the resource `path` drew). */
  headers?: Record<string, string> | (() => Record<string, string>);
  seconds: number;
  connections: number;
}

/** Drives one scenario with autocannon and keeps the figures the README reports. */
export async function runLoad(baseUrl: string, spec: LoadSpec): Promise<LoadResult> {
  const url = new URL(baseUrl);
  const result = await autocannon({
    url: url.origin,
    connections: spec.connections,
    duration: spec.seconds,
    requests: [
      {
        setupRequest: (request) => ({
          ...request,
          method: spec.method,
          path: `${url.pathname}${spec.path()}`,
          headers: { 'content-type': 'application/fhir+json', ...(typeof spec.headers === 'function' ? spec.headers() : spec.headers) },
          ...(spec.body ? { body: spec.body() } : {}),
        }),
      },
    ],
  });
  return {
    name: spec.name,
    requestsPerSecond: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

export function markdownTable(headers: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

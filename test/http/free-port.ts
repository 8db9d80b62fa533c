import { createServer } from 'node:net';

/** A port free on the loopback interface: for tests that need a real socket (a browser, an HTTP client) and a BASE_URL naming it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

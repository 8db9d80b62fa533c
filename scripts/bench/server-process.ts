import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { projectRoot } from '../../src/paths';

export interface ServerProcess {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
    probe.on('error', reject);
  });
}

async function waitUntilReady(url: string, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} before it was ready`);
    try {
      if ((await fetch(`${url}/metadata`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server did not become ready in 20 s');
}

/**
 * Starts the built server (dist/src/main.js, or another built `script` under
 * dist/: the floor server) as its own process, so the load generator does
 * not share its event loop. Logging is at warn: one line per
 * request would measure the log pipe, not the server.
 */
export async function startServerProcess(env: Record<string, string>, nodeArgs: readonly string[] = [], script = join('src', 'main.js')): Promise<ServerProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/fhir`;
  // nodeArgs: e.g. --cpu-prof, which Node refuses in NODE_OPTIONS.
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, join(projectRoot, 'dist', script)], {
    cwd: projectRoot,
    env: { ...process.env, PORT: String(port), BASE_URL: url, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await waitUntilReady(url, child);
  return {
    url,
    pid: child.pid as number,
    stop: () =>
      new Promise((done) => {
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}

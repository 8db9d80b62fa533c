/**
 * `npm run user -- add|remove|disable|set-password|list`: the accounts of
 * Concord's own authorization server, in the same database as the server
 * (SQLITE_PATH or MONGODB_URI), safe to run while it runs.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../src/config';
import { UserAdminError, userAdmin } from '../src/security/auth/user-admin';
import { openAccountStore } from '../src/storage/accounts/open';

const USAGE = `usage:
  npm run user -- add --username U --fhir-user Patient/p1 [--fhir-user ...] --password-stdin
  npm run user -- remove --username U
  npm run user -- disable --username U
  npm run user -- set-password --username U --password-stdin
  npm run user -- list`;

/** The password from standard input, first line, without its line end (never from the command line, where `ps` shows it). */
async function readPassword(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

async function run(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { username: { type: 'string' }, 'fhir-user': { type: 'string', multiple: true }, 'password-stdin': { type: 'boolean' } },
    strict: true,
  });
  const command = positionals[0];
  const username = values.username;
  const needUsername = () => {
    if (!username) throw new UserAdminError(`--username is required\n${USAGE}`);
    return username;
  };
  const needPassword = async () => {
    if (!values['password-stdin']) throw new UserAdminError(`--password-stdin is required\n${USAGE}`);
    return readPassword();
  };
  const store = await openAccountStore(loadConfig());
  try {
    const admin = userAdmin(store);
    if (command === 'add') await admin.add(needUsername(), values['fhir-user'] ?? [], await needPassword());
    else if (command === 'remove') await admin.remove(needUsername());
    else if (command === 'disable') await admin.disable(needUsername());
    else if (command === 'set-password') await admin.setPassword(needUsername(), await needPassword());
    else if (command === 'list') for (const line of await admin.list()) process.stdout.write(`${line}\n`);
    else throw new UserAdminError(USAGE);
    if (command !== 'list') process.stderr.write(`user ${command}: ${username} done\n`);
  } finally {
    await store.close();
  }
}

run(process.argv.slice(2)).catch((error: unknown) => {
  const known = error instanceof UserAdminError || error instanceof ConfigError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
  process.stderr.write(`user: ${error instanceof Error ? error.message : String(error)}\n`);
  if (!known) process.stderr.write(`${USAGE}\n`);
  process.exit(1);
});

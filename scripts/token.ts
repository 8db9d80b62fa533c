import { ConfigError, loadConfig } from '../src/config';
import { mintToken } from '../src/security/auth/cli-token';

/** Prints a token signed with the server's key: `npm run token -- --fhir-user Practitioner/123 --scope "user/*.rs"`. */
mintToken(process.argv.slice(2), loadConfig())
  .then((token) => process.stdout.write(`${token}\n`))
  .catch((error: unknown) => {
    const prefix = error instanceof ConfigError ? 'invalid configuration: ' : '';
    process.stderr.write(`concord token: ${prefix}${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });

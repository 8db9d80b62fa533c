import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose';
import { ConfigError } from '../../config';
import { SERVER_SIGNING_ALGORITHM } from './algorithms';

export interface SigningKey {
  privateKey: KeyObject;
  /** The public half as published at /auth/jwks.json (with `kid`, `alg`, `use`). */
  publicJwk: JWK;
  kid: string;
  alg: typeof SERVER_SIGNING_ALGORITHM;
}

const KEY_FILE_NAME = 'concord-signing-key.pem';

/** `AUTH_SIGNING_KEY_FILE`, else beside the SQLite file, else (`:memory:`) in ./data. */
export function signingKeyPath(settings: { signingKeyFile?: string; sqlitePath: string }): string {
  if (settings.signingKeyFile) return settings.signingKeyFile;
  const folder = settings.sqlitePath === ':memory:' ? './data' : dirname(settings.sqlitePath);
  return join(folder, KEY_FILE_NAME);
}

function generateKeyFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  // `wx`: never overwrite a key another process created meanwhile; 0600: the key is a secret.
  writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { flag: 'wx', mode: 0o600 });
}

/** Reads the server's signing key, generating it on first start; the file is kept owner-only. */
export async function loadSigningKey(path: string): Promise<SigningKey> {
  if (!existsSync(path)) {
    try {
      generateKeyFile(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new ConfigError('AUTH_SIGNING_KEY_FILE', `cannot create the signing key at ${path}: ${(error as Error).message}`);
      }
    }
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(readFileSync(path));
  } catch (error) {
    throw new ConfigError('AUTH_SIGNING_KEY_FILE', `${path} is not a readable PEM private key: ${(error as Error).message}`);
  }
  if (privateKey.asymmetricKeyType !== 'rsa') throw new ConfigError('AUTH_SIGNING_KEY_FILE', `${path} must hold an RSA key (tokens are signed ${SERVER_SIGNING_ALGORITHM})`);
  // A key file readable by others is tightened rather than trusted as is.
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  const jwk = await exportJWK(createPublicKey(privateKey));
  const kid = await calculateJwkThumbprint(jwk);
  return { privateKey, kid, alg: SERVER_SIGNING_ALGORITHM, publicJwk: { ...jwk, kid, alg: SERVER_SIGNING_ALGORITHM, use: 'sig' } };
}

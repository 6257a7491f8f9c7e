import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One certificate and its key (PEM), with its SHA-256 fingerprint as Keyhold stores it (lowercase hex, no colons). */
export interface Pem {
  cert: string;
  key: string;
  sha256: string;
}

export interface TestPki {
  ca: Pem;
  /** The internal listener's certificate (SAN IP:127.0.0.1 and DNS:localhost), signed by `ca`. */
  server: Pem;
  /** Client certificates signed by `ca`. */
  clientA: Pem;
  clientB: Pem;
  /** A client certificate from another CA, which the listener must refuse in the handshake. */
  rogue: Pem;
}

/**
 * A throwaway PKI made with the openssl binary (Node has no certificate builder): P-256 keys, one day of validity.
 * Everything is generated in a temporary directory that is removed before returning.
 */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'keyhold-pki-'));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const key = (name: string) => ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`);
  const selfSigned = (name: string, cn: string) => {
    key(name);
    ssl(
      'req',
      '-x509',
      '-new',
      '-key',
      `${name}.key`,
      '-subj',
      `/CN=${cn}`,
      '-days',
      '1',
      '-out',
      `${name}.crt`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    );
  };
  const signed = (name: string, cn: string, ca: string, ext: string) => {
    key(name);
    ssl('req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`);
    writeFileSync(join(dir, `${name}.ext`), ext);
    ssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.crt`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-days',
      '1',
      '-out',
      `${name}.crt`,
      '-extfile',
      `${name}.ext`,
    );
  };
  try {
    selfSigned('ca', 'keyhold-test-internal-ca');
    selfSigned('rogue-ca', 'someone-else-ca');
    signed(
      'server',
      'keyhold-internal',
      'ca',
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
    );
    const client = 'extendedKeyUsage=clientAuth\n';
    signed('client-a', 'records-service', 'ca', client);
    signed('client-b', 'other-service', 'ca', client);
    signed('rogue', 'records-service', 'rogue-ca', client);
    const read = (name: string): Pem => {
      const cert = readFileSync(join(dir, `${name}.crt`), 'utf8');
      return {
        cert,
        key: readFileSync(join(dir, `${name}.key`), 'utf8'),
        sha256: new X509Certificate(cert).fingerprint256.replace(/:/g, '').toLowerCase(),
      };
    };
    return {
      ca: read('ca'),
      server: read('server'),
      clientA: read('client-a'),
      clientB: read('client-b'),
      rogue: read('rogue'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

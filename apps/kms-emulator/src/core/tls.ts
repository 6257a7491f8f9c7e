import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
// selfsigned builds an X.509 certificate with node-forge; Node 20 has no certificate builder of its own.
import * as selfsigned from 'selfsigned';

export interface TlsMaterial {
  key: string;
  cert: string;
  /** The certificate clients must trust (self-signed: the certificate itself). */
  caPem: string;
}

/**
 * A self-signed certificate for 127.0.0.1 / localhost, so emulated clouds speak https and production code never
 * needs `allowInsecureConnection`. When `file` is given the material is kept there (and reused), so a client
 * process can trust it with NODE_EXTRA_CA_CERTS=<file>.cert.pem or through Keyhold's TLS-trust configuration.
 */
export function loadOrCreateTls(file?: string, extraHosts: string[] = []): TlsMaterial {
  if (file && existsSync(`${file}.key.pem`) && existsSync(`${file}.cert.pem`)) {
    const cert = readFileSync(`${file}.cert.pem`, 'utf8');
    return { key: readFileSync(`${file}.key.pem`, 'utf8'), cert, caPem: cert };
  }
  const pems = selfsigned.generate([{ name: 'commonName', value: 'keyhold-emulator' }], {
    keySize: 2048,
    days: 825,
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', keyCertSign: true, digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 2, value: '*.vault.localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
          // e.g. the compose service name, so containers reach the emulator by name over verified TLS
          ...extraHosts.map((h) => ({ type: 2, value: h })),
        ],
      },
    ],
  });
  const material = { key: pems.private, cert: pems.cert, caPem: pems.cert };
  if (file) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(`${file}.key.pem`, material.key, { mode: 0o600 });
    writeFileSync(`${file}.cert.pem`, material.cert);
  }
  return material;
}

'use strict';
/**
 * The environment of the local, Docker-free product: Keyhold pointed at the bundled cloud emulators with the vendor
 * identities the emulators know by default. Values already set in the caller's environment win, so the same launcher
 * can point at real clouds by exporting the KEYHOLD_* variables (see README, "Pointing Keyhold at real clouds").
 */
const path = require('node:path');

function localEnv(root, base = process.env) {
  const tls = path.join(root, '.keyhold', 'emulator-tls');
  const defaults = {
    KEYHOLD_MODE: 'local',
    NODE_ENV: 'development',
    PORT: '3000',
    HOST: '127.0.0.1',
    // the internal listener (DEK API, service tokens, /metrics), loopback only; the worker's metrics move aside
    KEYHOLD_INTERNAL_PORT: '3001',
    KEYHOLD_INTERNAL_HOST: '127.0.0.1',
    KEYHOLD_WORKER_METRICS_PORT: '3002',
    DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/keyhold',
    REDIS_URL: 'redis://127.0.0.1:6379',
    KEYHOLD_EMULATOR_TLS_FILE: tls,
    KEYHOLD_EMULATOR_STATE_FILE: path.join(root, '.keyhold', 'emulator-state.json'),
    AWS_EC2_METADATA_DISABLED: 'true',
    METADATA_SERVER_DETECTION: 'none',
    // AWS emulator (KMS + STS + IAM) and the vendor principal tenants trust
    KEYHOLD_AWS_REGION: 'us-east-1',
    KEYHOLD_AWS_KMS_ENDPOINT: 'http://127.0.0.1:4566',
    KEYHOLD_AWS_STS_ENDPOINT: 'http://127.0.0.1:4566',
    KEYHOLD_AWS_ACCESS_KEY_ID: 'AKIAKEYHOLDVENDOR000',
    KEYHOLD_AWS_SECRET_ACCESS_KEY: 'keyhold-vendor-local-secret',
    KEYHOLD_AWS_VENDOR_PRINCIPAL_ARN: 'arn:aws:iam::111122223333:user/keyhold-vendor',
    // Azure Key Vault emulator + its Entra-style token endpoint (https, self-signed certificate trusted by file)
    KEYHOLD_AZURE_AUTHORITY_HOST: 'https://127.0.0.1:4567',
    KEYHOLD_AZURE_CLIENT_ID: 'b6d1e2f3-4a5b-4c6d-8e7f-9a0b1c2d3e4f',
    KEYHOLD_AZURE_CLIENT_SECRET: 'keyhold-vendor-local-secret',
    KEYHOLD_AZURE_CA_FILE: `${tls}.cert.pem`,
    // the emulated vault's host name, reached at 127.0.0.1 (its certificate names *.vault.localhost)
    KEYHOLD_AZURE_EMULATOR_HOSTS: 'keyhold-emulator.vault.localhost:4567=127.0.0.1',
    // Google Cloud KMS emulator (gRPC over TLS) + IAM Credentials emulator for service-account impersonation
    KEYHOLD_GCP_KMS_ENDPOINT: '127.0.0.1:4568',
    KEYHOLD_GCP_IAM_ENDPOINT: 'https://127.0.0.1:4570',
    KEYHOLD_GCP_CA_FILE: `${tls}.cert.pem`,
    KEYHOLD_GCP_VENDOR_TOKEN: 'keyhold-vendor-local-token',
    KEYHOLD_GCP_VENDOR_PROJECT: 'keyhold-vendor',
  };
  const env = { ...base };
  for (const [k, v] of Object.entries(defaults)) if (env[k] === undefined || env[k] === '') env[k] = v;
  return env;
}

module.exports = { localEnv };

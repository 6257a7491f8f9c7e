import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/**
 * The real Cloud KMS and IAM policy service definitions, loaded from the protos the official SDK ships, so the
 * emulator speaks exactly the wire format the SDK expects. google-gax's `exports` map hides its package.json:
 * resolve its entry point and walk up to the package root.
 */
function protoRoots(): string[] {
  const kmsRoot = join(dirname(require.resolve('@google-cloud/kms')), '..', 'protos');
  let gax = dirname(require.resolve('google-gax'));
  while (!gax.endsWith('google-gax')) gax = dirname(gax);
  return [kmsRoot, join(gax, 'build', 'protos')];
}

export interface GcpServiceDefinitions {
  kms: grpc.ServiceDefinition;
  iamPolicy: grpc.ServiceDefinition;
}

let cached: GcpServiceDefinitions | null = null;

export function loadGcpServices(): GcpServiceDefinitions {
  if (cached) return cached;
  const defs = protoLoader.loadSync(['google/cloud/kms/v1/service.proto', 'google/iam/v1/iam_policy.proto'], {
    includeDirs: protoRoots(),
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(defs) as unknown as {
    google: {
      cloud: { kms: { v1: { KeyManagementService: grpc.ServiceClientConstructor } } };
      iam: { v1: { IAMPolicy: grpc.ServiceClientConstructor } };
    };
  };
  cached = {
    kms: pkg.google.cloud.kms.v1.KeyManagementService.service,
    iamPolicy: pkg.google.iam.v1.IAMPolicy.service,
  };
  return cached;
}

import { status } from '@grpc/grpc-js';

/** A Cloud KMS error as the service answers it: a canonical gRPC status code and a message. */
export class GcpStatusError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
  }
}

export const invalid = (message: string) => new GcpStatusError(status.INVALID_ARGUMENT, message);
export const notFound = (name: string) => new GcpStatusError(status.NOT_FOUND, `${name} not found.`);
export const denied = (permission: string, resource: string) =>
  new GcpStatusError(
    status.PERMISSION_DENIED,
    `Permission '${permission}' denied on resource '${resource}' (or it may not exist).`,
  );
export const precondition = (message: string) => new GcpStatusError(status.FAILED_PRECONDITION, message);
export const exists = (name: string) => new GcpStatusError(status.ALREADY_EXISTS, `${name} already exists.`);

/** Status names by code, for counters and logs. */
export function statusName(code: number): string {
  return (status as unknown as Record<number, string>)[code] ?? String(code);
}

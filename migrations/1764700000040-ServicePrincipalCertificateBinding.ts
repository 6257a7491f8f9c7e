import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * service_principals.client_cert_sha256: the SHA-256 fingerprint (lowercase hex) of the one client certificate a
 * service principal's tokens must arrive over on the internal listener (mutual TLS). Null = not bound. Set by the
 * tenant's key admin; a token of a bound principal on a connection with any other certificate, or none, is refused.
 */
export class ServicePrincipalCertificateBinding1764700000040 implements MigrationInterface {
  name = 'ServicePrincipalCertificateBinding1764700000040';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE service_principals ADD COLUMN client_cert_sha256 text CHECK (client_cert_sha256 ~ '^[0-9a-f]{64}$')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE service_principals DROP COLUMN IF EXISTS client_cert_sha256`);
  }
}

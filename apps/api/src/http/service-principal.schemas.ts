import { canonicalCidr, MAX_ALLOW_LIST_ENTRIES } from '@app/auth';
import { MAX_SECRET_OVERLAP_SECONDS } from '@app/keys';
import { z } from 'zod';

/** Bodies of the service-principal lifecycle routes (strict: an unknown member is a 400, never ignored). */
const cidr = z
  .string()
  .max(64)
  .transform((v, ctx) => {
    const c = canonicalCidr(v);
    if (c === undefined) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: 'must be a CIDR such as 10.0.0.0/8 or 2001:db8::/32, with no host bits set',
      });
      return z.NEVER;
    }
    return c;
  });

/** A SHA-256 certificate fingerprint: 64 hex digits, with or without the colons openssl prints; kept lowercase, bare. */
const fingerprint = z
  .string()
  .max(95)
  .transform((v, ctx) => {
    const hex = v.trim().replace(/:/g, '').toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(hex)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: 'must be a SHA-256 certificate fingerprint (64 hex digits, colons allowed)',
      });
      return z.NEVER;
    }
    return hex;
  });

export const servicePrincipalSchemas = {
  update: z
    .object({
      name: z.string().trim().min(1).max(200).optional(),
      disabled: z.boolean().optional(),
      workspaceIds: z
        .array(z.string().uuid())
        .max(1000)
        .transform((ids) => ids.map((w) => w.toLowerCase()))
        .optional(),
      ipAllowList: z.array(cidr).max(MAX_ALLOW_LIST_ENTRIES).optional(),
      clientCertificateSha256: fingerprint.nullable().optional(),
    })
    .strict()
    .refine(
      (b) => Object.keys(b).length > 0,
      'give at least one of name, disabled, workspaceIds, ipAllowList, clientCertificateSha256',
    ),
  rotate: z.object({ overlapSeconds: z.number().int().min(0).max(MAX_SECRET_OVERLAP_SECONDS) }).strict(),
};

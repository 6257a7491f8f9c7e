import { z } from 'zod';

/** Request shapes of the SSO routes (one source for validation and the OpenAPI document). */
const domain = z
  .string()
  .trim()
  .toLowerCase()
  .max(253)
  .regex(
    /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
    'must be a domain name such as example.com',
  );

export const ssoSchemas = {
  configuration: z
    .object({
      issuer: z.string().min(1).max(512),
      clientId: z
        .string()
        .min(1)
        .max(255)
        .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
      clientSecret: z.string().min(1).max(1024).optional(),
      allowedEmailDomains: z.array(domain).min(1).max(50),
      groupsClaim: z
        .string()
        .regex(/^[A-Za-z0-9_:./-]{1,100}$/, 'must be a claim name (letters, digits, _ : . / -)')
        .optional(),
      roleMappings: z
        .array(z.object({ group: z.string().min(1).max(256), role: z.enum(['key_admin', 'auditor']) }).strict())
        .min(1)
        .max(100),
      ssoRequired: z.boolean().optional(),
      breakGlassAdminUserId: z.string().uuid().nullable().optional(),
    })
    .strict(),
  login: z.object({ tenant_id: z.string().min(1).max(64) }),
  // IdPs add parameters of their own (session_state, …): unknown ones are ignored, known ones bounded.
  callback: z.object({
    state: z.string().max(128).optional(),
    code: z.string().max(2048).optional(),
    error: z.string().max(256).optional(),
    iss: z.string().max(512).optional(),
  }),
};

import { z } from 'zod';
import { credentialSchemas } from '../controllers/credentials.controller';
import { mfaSchemas } from '../controllers/mfa.controller';
import { listQueries } from '../list-queries';
import { query as operationHistoryQuery } from '../controllers/operations-history.controller';
import { schemas as siemSchemas } from '../controllers/siem.controller';
import { servicePrincipalSchemas } from '../service-principal.schemas';
import { ssoSchemas } from '../sso.schemas';
import { schemas } from '../validation';
import './kit';

/**
 * Request bodies and queries of the contract: the controllers' own zod schemas, named (the names are the component
 * names clients and the hardening suite key on). Two bodies are validated by hand on purpose and described here.
 */
export const CreateTenant = schemas.createTenant.openapi('CreateTenant');
export const TokenRequest = schemas.token.openapi('TokenRequest');
export const RegisterKeyConfiguration = schemas.registerKeyConfiguration.openapi('RegisterKeyConfiguration', {
  description:
    'Exactly the section named by provider is used (aws {keyArn, roleArn, replica?: {keyArn}}, azure {keyId, tenantId, replica?: {keyId}}, gcp {keyName, serviceAccount, replica?: {keyName}}); the provider module parses it. An externalId anywhere is refused (400). The optional replica names a second key in another region (AWS: a multi-Region replica of the same mrk- key; Azure: a key in a paired vault of the same Entra tenant; GCP: a key in another location granted to the same service account): the KEK is wrapped under both, cold unwraps fail over to it on transient errors of the primary, and revoking either key revokes Keyhold.',
});
export const CreateWorkspace = schemas.createWorkspace.openapi('CreateWorkspace');
export const Binding = schemas.bind.openapi('Binding');
export const OperationRequest = schemas.operation.openapi('OperationRequest', {
  description: 'kind: cmk-rewrap, kek-rotation, revocation-check or reinstate',
});
export const CreateServicePrincipal = schemas.servicePrincipal.openapi('CreateServicePrincipal');
export const ServicePrincipalPermissions = schemas.servicePrincipalPermissions.openapi('ServicePrincipalPermissions');
export const auditQuery = listQueries.auditEvents;
export const checkpointQuery = schemas.checkpointQuery;

export const UpdateServicePrincipal = servicePrincipalSchemas.update.openapi('UpdateServicePrincipal');
export const RotateServicePrincipalSecret = servicePrincipalSchemas.rotate.openapi('RotateServicePrincipalSecret');

export const UpdateAdminUser = credentialSchemas.updateAdminUser.openapi('UpdateAdminUser');
export const CreateInvitation = credentialSchemas.invitation.openapi('CreateInvitation');
export const OneTimeToken = credentialSchemas.describeInvitation.openapi('OneTimeToken');
export const AcceptInvitation = credentialSchemas.acceptInvitation.openapi('AcceptInvitation', {
  description: 'password: at least 12 characters, not common, not containing the email',
});
export const CompletePasswordReset = credentialSchemas.completeReset.openapi('CompletePasswordReset');
export const ChangePassword = credentialSchemas.changePassword.openapi('ChangePassword');
export const PasswordResetRequest = credentialSchemas.requestReset.openapi('PasswordResetRequest');

export const SsoConfigurationInput = ssoSchemas.configuration.openapi('SsoConfigurationInput', {
  description:
    'clientSecret is required the first time, omitted to keep the stored one, never returned; ssoRequired refuses password sign-in except for breakGlassAdminUserId (an enabled key admin).',
});
export const ssoLoginQuery = ssoSchemas.login;
export const ssoCallbackQuery = ssoSchemas.callback;

export const MfaChallengeToken = mfaSchemas.challenge.openapi('MfaChallengeToken');
export const MfaCode = mfaSchemas.signInCode.openapi('MfaCode');
export const MfaRecoveryCode = mfaSchemas.signInRecoveryCode.openapi('MfaRecoveryCode');
export const MfaPasskeyAssertion = mfaSchemas.signInPasskey.openapi('MfaPasskeyAssertion');
export const MfaEnrolTotp = mfaSchemas.signInEnrolTotp.openapi('MfaEnrolTotp');
export const MfaConfirmTotpAtSignIn = mfaSchemas.signInConfirmTotp.openapi('MfaConfirmTotpAtSignIn');
export const MfaPasskeyRegistrationAtSignIn = mfaSchemas.signInEnrolPasskey.openapi('MfaPasskeyRegistrationAtSignIn');
export const StartTotp = mfaSchemas.startTotp.openapi('StartTotp');
export const TotpCode = mfaSchemas.confirmTotp.openapi('TotpCode');
export const Empty = mfaSchemas.empty.openapi('Empty');
export const RegisterPasskey = mfaSchemas.registerPasskey.openapi('RegisterPasskey');
export const MfaPolicy = mfaSchemas.policy.openapi('MfaPolicy');

export const CreateSiemDestination = siemSchemas.create.openapi('CreateSiemDestination');
export const RotateSiemSecret = siemSchemas.rotate.openapi('RotateSiemSecret');
export { operationHistoryQuery };

// Validated by hand: the batch on the DEK hot path (dek-routes.ts), the destroy confirmation by the use case (a
// missing one is CONFIRMATION_MISMATCH, not a 400).
export const BatchGet = z.object({ segmentIds: z.array(z.string()).min(1).max(1000) }).openapi('BatchGet');
export const DestroyWorkspace = z
  .object({ confirm: z.string().describe("the workspace's name, typed back") })
  .openapi('DestroyWorkspace');

import type { ServicePrincipalRepository } from '@app/persistence';
import { AuthError } from './errors';
import { IpAllowList } from './ip-allow-list';
import { CLIENT_SECRET_HASH_PARAMS, verifyAgainstDummy, verifySecret } from './passwords';

/**
 * The client_credentials grant: the client id names one principal; the secret must match one of its live
 * secrets (one normally, two during a rotation's overlap; expired ones are not even read), the principal must be
 * enabled and the request must come from an address on its allow-list (if it has one). Every hash is checked
 * even after a match, and an unknown client costs a dummy check, so timing tells little. One message for every
 * failure. Returns which secret matched: the access token carries its id and stops working with it.
 */
export async function verifyClientCredentials(
  principals: Pick<ServicePrincipalRepository, 'findByClientId'>,
  clientId: string,
  clientSecret: string,
  clientIp: string,
): Promise<{ tenantId: string; id: string; secretId: string }> {
  const sp = await principals.findByClientId(clientId);
  let secretId: string | undefined;
  if (!sp || sp.secrets.length === 0) await verifyAgainstDummy(clientSecret, CLIENT_SECRET_HASH_PARAMS);
  else
    for (const s of sp.secrets)
      if ((await verifySecret(clientSecret, s.secretHash)) && secretId === undefined) secretId = s.id;
  if (!sp || secretId === undefined || sp.disabled || !new IpAllowList(sp.ipAllowList).allows(clientIp))
    throw new AuthError('INVALID_CLIENT', 'invalid client credentials');
  return { tenantId: sp.tenantId, id: sp.id, secretId };
}

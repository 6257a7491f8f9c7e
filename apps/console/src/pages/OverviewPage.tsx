import { CodeBlock } from '../components/CodeBlock';
import { ErrorAlert } from '../components/Alert';
import { ValueRow } from '../components/ValueRow';

import { awsTrustPolicy } from '../snippets';
import { useTenant } from '../api/queries';

/** The identities the customer must trust, per cloud, with copy buttons. */
export function OverviewPage() {
  const tenant = useTenant();
  const t = tenant.data;
  return (
    <section>
      <h1>{t ? t.name : 'Tenant overview'}</h1>
      <p className="lede">
        Keyhold uses <strong>your</strong> cloud key (CMK) to protect each workspace’s key-encryption key. To let it,
        trust the identities below in your own cloud account. Nothing here is secret, but the AWS ExternalId must only
        be used in your role’s trust policy for Keyhold.
      </p>
      <ErrorAlert error={tenant.error} title="Could not load the tenant" />
      {tenant.loading && !t && <p aria-live="polite">Loading…</p>}
      {t && (
        <div className="identity-cards">
          <article className="card" aria-labelledby="id-aws">
            <h2 id="id-aws">AWS</h2>
            {t.aws ? (
              <>
                <dl>
                  <ValueRow
                    label="Keyhold principal ARN"
                    value={t.aws.trustedPrincipalArn}
                    note="The AWS principal that assumes your IAM role."
                  />
                  <ValueRow
                    label="ExternalId"
                    value={t.aws.externalId}
                    note="Unique to your tenant. Keyhold sends it on every AssumeRole, so no other customer can make Keyhold use your role."
                  />
                </dl>
                <CodeBlock title="Trust policy for your IAM role" code={awsTrustPolicy(t)} />
              </>
            ) : (
              <p className="muted">AWS is not enabled on this installation.</p>
            )}
          </article>
          <article className="card" aria-labelledby="id-azure">
            <h2 id="id-azure">Azure</h2>
            {t.azure ? (
              <dl>
                <ValueRow
                  label="Application (client) id"
                  value={t.azure.clientId}
                  note={`The multi-tenant app${t.azure.appName ? ` “${t.azure.appName}”` : ''} you grant access to your Key Vault key.`}
                />
                {t.azure.externalId && (
                  <ValueRow
                    label="Key ownership tag"
                    value={`${t.azure.ownershipTag ?? 'keyhold-external-id'}=${t.azure.externalId}`}
                    note="Set this tag on each Key Vault key you give Keyhold: it tells Keyhold the key is yours to give to this tenant."
                  />
                )}
              </dl>
            ) : (
              <p className="muted">Azure is not enabled on this installation.</p>
            )}
          </article>
          <article className="card" aria-labelledby="id-gcp">
            <h2 id="id-gcp">Google Cloud</h2>
            {t.gcp ? (
              <dl>
                <ValueRow
                  label="Service account"
                  value={t.gcp.serviceAccount}
                  note="Dedicated to your tenant. Grant it encrypt/decrypt on your CryptoKey."
                />
              </dl>
            ) : (
              <p className="muted">Google Cloud is not enabled on this installation.</p>
            )}
          </article>
        </div>
      )}
      <p>
        Next: <a href="#/keys/new">register a key configuration</a>, then <a href="#/workspaces">bind a workspace</a> to
        it.
      </p>
    </section>
  );
}

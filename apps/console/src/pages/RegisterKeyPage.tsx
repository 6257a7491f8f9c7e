import { useEffect, useState, type SubmitEvent } from 'react';
import type { KeyConfiguration, Provider, RegisterKeyConfiguration } from '../api/types';
import { ErrorAlert } from '../components/Alert';
import { ChecksList, ValidationSummary } from '../components/ChecksList';
import { CodeBlock } from '../components/CodeBlock';
import { PROVIDER_NAMES } from '../components/ProviderName';
import { TextField } from '../components/TextField';
import { useConsole } from '../context';
import { useAction } from '../hooks';
import { snippetsFor, type WizardInput } from '../snippets';
import { useTenant } from '../api/queries';

const EMPTY: WizardInput = {
  keyArn: '',
  roleArn: '',
  azureKeyId: '',
  azureTenantId: '',
  gcpKeyName: '',
  gcpServiceAccount: '',
  replicaKey: '',
};

/**
 * The register wizard: 1 choose the cloud, 2 name the key and identity, 3 paste what is shown into your cloud,
 * 4 register — Keyhold validates for real and every check is shown with its fix. An invalid result can be
 * re-validated in place once the customer has fixed their side.
 */
export function RegisterKeyPage() {
  const { api } = useConsole();
  const tenant = useTenant();
  const [provider, setProvider] = useState<Provider>('aws');
  const [name, setName] = useState('');
  const [input, setInput] = useState<WizardInput>(EMPTY);
  const [result, setResult] = useState<KeyConfiguration | null>(null);
  const set = (k: keyof WizardInput) => (v: string) => setInput((i) => ({ ...i, [k]: v }));

  // The GCP service account is the tenant's own; prefill it once the tenant is known.
  useEffect(() => {
    const sa = tenant.data?.gcp?.serviceAccount;
    if (sa) setInput((i) => (i.gcpServiceAccount ? i : { ...i, gcpServiceAccount: sa }));
  }, [tenant.data]);

  const register = useAction(async () => {
    const body = requestFor(provider, name.trim(), input);
    setResult(await api.registerKeyConfiguration(body));
  });
  const revalidate = useAction(async () => {
    if (result) setResult(await api.validateKeyConfiguration(result.id));
  });

  function submit(e: SubmitEvent) {
    e.preventDefault();
    void register.run();
  }

  const t = tenant.data;
  return (
    <section>
      <h1>Register a key configuration</h1>
      <ErrorAlert error={tenant.error} title="Could not load your tenant’s identities" />
      <form onSubmit={submit} className="wizard" aria-describedby="wizard-help">
        <p id="wizard-help" className="lede">
          Tell Keyhold which key to use and how to reach it. Apply the snippets in step 3 in your cloud account before
          you register: Keyhold tests access immediately.
        </p>
        <fieldset className="step">
          <legend>
            <span className="step-no">1</span> Cloud
          </legend>
          <div className="radio-row">
            {(['aws', 'azure', 'gcp'] as const).map((p) => (
              <label key={p} className={`radio-card${provider === p ? ' selected' : ''}`}>
                <input
                  type="radio"
                  name="provider"
                  value={p}
                  checked={provider === p}
                  onChange={() => (setProvider(p), setResult(null))}
                />
                {PROVIDER_NAMES[p]}
              </label>
            ))}
          </div>
        </fieldset>

        <fieldset className="step">
          <legend>
            <span className="step-no">2</span> Key and identity
          </legend>
          <TextField
            id="kc-name"
            label="Configuration name"
            value={name}
            onChange={setName}
            required
            help="Letters, digits, spaces and _ . : - (e.g. “prod-eu”)."
          />
          {provider === 'aws' && (
            <>
              <TextField
                id="aws-key"
                label="KMS key ARN (or alias ARN)"
                value={input.keyArn}
                onChange={set('keyArn')}
                required
                mono
                placeholder="arn:aws:kms:eu-west-1:111122223333:key/…"
                help="An alias is resolved to its key and pinned when you register."
              />
              <TextField
                id="aws-role"
                label="IAM role ARN"
                value={input.roleArn}
                onChange={set('roleArn')}
                required
                mono
                placeholder="arn:aws:iam::111122223333:role/KeyholdAccess"
                help="The role Keyhold assumes with your ExternalId."
              />
              <TextField
                id="aws-replica"
                label="Replica key ARN (optional)"
                value={input.replicaKey ?? ''}
                onChange={set('replicaKey')}
                mono
                placeholder="arn:aws:kms:eu-central-1:111122223333:key/mrk-…"
                help="A multi-Region replica of the same key in another region, with the same key policy statement. Keyhold wraps under both and uses the replica when the key’s region is down; revoking either key revokes Keyhold."
              />
            </>
          )}
          {provider === 'azure' && (
            <>
              <TextField
                id="az-key"
                label="Key identifier URL"
                value={input.azureKeyId}
                onChange={set('azureKeyId')}
                required
                mono
                placeholder="https://my-vault.vault.azure.net/keys/keyhold"
                help="A Key Vault or Managed HSM key; the version is optional (without it Keyhold follows the current version)."
              />
              <TextField
                id="az-tenant"
                label="Microsoft Entra tenant id"
                value={input.azureTenantId}
                onChange={set('azureTenantId')}
                required
                mono
                placeholder="00000000-0000-0000-0000-000000000000"
                help="The directory your vault belongs to."
              />
              <TextField
                id="az-replica"
                label="Replica key URL in a paired vault (optional)"
                value={input.replicaKey ?? ''}
                onChange={set('replicaKey')}
                mono
                placeholder="https://my-vault-paired.vault.azure.net/keys/keyhold"
                help="A key in another vault of the same directory, tagged and granted like the first. Keyhold wraps under both; revoking either key revokes Keyhold."
              />
            </>
          )}
          {provider === 'gcp' && (
            <>
              <TextField
                id="gcp-key"
                label="CryptoKey resource name"
                value={input.gcpKeyName}
                onChange={set('gcpKeyName')}
                required
                mono
                placeholder="projects/my-project/locations/europe-west1/keyRings/keyhold/cryptoKeys/kek"
              />
              <TextField
                id="gcp-sa"
                label="Service account"
                value={input.gcpServiceAccount}
                onChange={set('gcpServiceAccount')}
                required
                mono
                help="Prefilled with the service account Keyhold dedicates to your tenant."
              />
              <TextField
                id="gcp-replica"
                label="Replica CryptoKey in a second location (optional)"
                value={input.replicaKey ?? ''}
                onChange={set('replicaKey')}
                mono
                placeholder="projects/my-project/locations/us-central1/keyRings/keyhold/cryptoKeys/kek"
                help="Granted to the same service account. Keyhold wraps under both; revoking either key revokes Keyhold."
              />
            </>
          )}
        </fieldset>

        <fieldset className="step">
          <legend>
            <span className="step-no">3</span> Grant Keyhold access in your cloud
          </legend>
          {t ? (
            snippetsFor(provider, t, input).map((s) => (
              <CodeBlock key={s.title} title={s.title} code={s.code} hint={s.hint} />
            ))
          ) : (
            <p className="muted">Loading your tenant’s identities…</p>
          )}
        </fieldset>

        <fieldset className="step">
          <legend>
            <span className="step-no">4</span> Register and validate
          </legend>
          <ErrorAlert error={register.error} title="The configuration was not registered" />
          <button className="btn btn-primary" type="submit" disabled={register.busy}>
            {register.busy ? 'Registering and validating…' : 'Register and validate'}
          </button>
          <div aria-live="polite">
            {register.busy && <p className="muted">Keyhold is checking access to your key…</p>}
          </div>
        </fieldset>
      </form>

      {result && (
        <section className="result" aria-labelledby="result-title">
          <h2 id="result-title">Validation of “{result.name}”</h2>
          <ValidationSummary status={result.status} checks={result.validation.checks} />
          <ChecksList checks={result.validation.checks} provider={result.provider} />
          <ErrorAlert error={revalidate.error} title="Validation could not run" />
          <div className="actions">
            {result.status !== 'valid' && (
              <button type="button" className="btn" onClick={() => void revalidate.run()} disabled={revalidate.busy}>
                {revalidate.busy ? 'Validating…' : 'Validate again'}
              </button>
            )}
            <a className="btn btn-quiet" href={`#/keys/${encodeURIComponent(result.id)}`}>
              Open configuration
            </a>
            {result.status === 'valid' && (
              <a className="btn btn-primary" href="#/workspaces">
                Bind a workspace
              </a>
            )}
          </div>
        </section>
      )}
    </section>
  );
}

function requestFor(provider: Provider, name: string, i: WizardInput): RegisterKeyConfiguration {
  const replica = (i.replicaKey ?? '').trim();
  switch (provider) {
    case 'aws':
      return {
        name,
        provider,
        aws: {
          keyArn: i.keyArn.trim(),
          roleArn: i.roleArn.trim(),
          ...(replica ? { replica: { keyArn: replica } } : {}),
        },
      };
    case 'azure':
      return {
        name,
        provider,
        azure: {
          keyId: i.azureKeyId.trim(),
          tenantId: i.azureTenantId.trim(),
          ...(replica ? { replica: { keyId: replica } } : {}),
        },
      };
    case 'gcp':
      return {
        name,
        provider,
        gcp: {
          keyName: i.gcpKeyName.trim(),
          serviceAccount: i.gcpServiceAccount.trim(),
          ...(replica ? { replica: { keyName: replica } } : {}),
        },
      };
  }
}

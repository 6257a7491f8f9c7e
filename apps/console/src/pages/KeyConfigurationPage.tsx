import { useState } from 'react';
import type { KeyConfiguration } from '../api/types';
import { ErrorAlert } from '../components/Alert';
import { ChecksList, ValidationSummary } from '../components/ChecksList';
import { CodeBlock } from '../components/CodeBlock';
import { keyIdentifier, PROVIDER_NAMES, text } from '../components/ProviderName';
import { ValueRow } from '../components/ValueRow';
import { useConsole } from '../context';
import { useAction } from '../hooks';
import { navigate } from '../router';
import { setupSnippets, snippetsFor } from '../snippets';
import { useKeyConfiguration, useTenant } from '../api/queries';

/** One configuration: what it points at, what to paste, its last validation; validate again; delete. */
export function KeyConfigurationPage({ id }: { id: string }) {
  const { api, canWrite } = useConsole();
  const config = useKeyConfiguration(id);
  const tenantQuery = useTenant();
  const loaded = {
    data: config.data && tenantQuery.data ? ([config.data, tenantQuery.data] as const) : undefined,
    error: config.error ?? tenantQuery.error,
  };
  const [fresh, setFresh] = useState<KeyConfiguration | null>(null);
  const [confirming, setConfirming] = useState(false);
  const kc = fresh ?? loaded.data?.[0];
  const tenant = loaded.data?.[1];

  const validate = useAction(async () => setFresh(await api.validateKeyConfiguration(id)));
  const remove = useAction(async () => {
    await api.deleteKeyConfiguration(id);
    navigate('/keys');
  });

  if (loaded.error) return <ErrorAlert error={loaded.error} title="Could not load this key configuration" />;
  if (!kc || !tenant) return <p aria-live="polite">Loading…</p>;

  const fromApi = setupSnippets(kc.setup);
  const snippets =
    fromApi.length > 0
      ? fromApi
      : snippetsFor(kc.provider, tenant, {
          keyArn: text(kc.aws?.keyArn),
          roleArn: text(kc.aws?.roleArn),
          azureKeyId: text(kc.azure?.keyId),
          azureTenantId: text(kc.azure?.tenantId),
          gcpKeyName: text(kc.gcp?.keyName),
          gcpServiceAccount: text(kc.gcp?.serviceAccount),
        });
  // The AWS trust policy lives on the tenant; show it here too, since a failed assume_role points at it.
  if (kc.provider === 'aws' && !snippets.some((s) => /trust policy/i.test(s.title)))
    snippets.unshift(
      snippetsFor('aws', tenant, {
        keyArn: '',
        roleArn: '',
        azureKeyId: '',
        azureTenantId: '',
        gcpKeyName: '',
        gcpServiceAccount: '',
      })[0],
    );

  return (
    <section>
      <p className="crumbs">
        <a href="#/keys">Key configurations</a> <span aria-hidden="true">›</span>
      </p>
      <h1>{kc.name}</h1>
      <dl className="facts">
        <div className="value-row">
          <dt>Cloud</dt>
          <dd>{PROVIDER_NAMES[kc.provider] ?? kc.provider}</dd>
        </div>
        <ValueRow label="Key" value={keyIdentifier(kc)} />
        {kc.provider === 'aws' && <ValueRow label="Role" value={text(kc.aws?.roleArn)} />}
        {kc.provider === 'azure' && <ValueRow label="Entra tenant" value={text(kc.azure?.tenantId)} />}
        {kc.provider === 'gcp' && <ValueRow label="Service account" value={text(kc.gcp?.serviceAccount)} />}
        {replicaKey(kc) && <ValueRow label="Replica key" value={replicaKey(kc)} />}
        <div className="value-row">
          <dt>Last validated</dt>
          <dd>{kc.validatedAt ? new Date(kc.validatedAt).toLocaleString() : 'Never'}</dd>
        </div>
      </dl>

      {kc.validation.probeWarning && (
        <div className="alert alert-warn" role="status" data-probe-warning={kc.validation.probeWarning.code}>
          <p className="alert-title">Your key works, but Keyhold cannot describe it</p>
          <p>{kc.validation.probeWarning.message}</p>
          <p className="alert-detail">
            Seen by Keyhold's access checks since {new Date(kc.validation.probeWarning.since).toLocaleString()}.
          </p>
        </div>
      )}

      <h2>Validation</h2>
      <ValidationSummary status={kc.status} checks={kc.validation.checks} />
      <ChecksList checks={kc.validation.checks} provider={kc.provider} />
      <ErrorAlert error={validate.error} title="Validation could not run" />
      {canWrite && (
        <div className="actions">
          <button type="button" className="btn" onClick={() => void validate.run()} disabled={validate.busy}>
            {validate.busy ? 'Validating…' : 'Validate again'}
          </button>
        </div>
      )}

      <h2>What to grant in your cloud</h2>
      {snippets.map((s) => (
        <CodeBlock key={s.title} title={s.title} code={s.code} hint={s.hint || undefined} />
      ))}

      {canWrite && (
        <section className="danger-zone" aria-labelledby="danger">
          <h2 id="danger">Delete this configuration</h2>
          <p>
            Deleting only removes it from Keyhold; your cloud key is untouched. A configuration that any workspace is
            bound to cannot be deleted.
          </p>
          <ErrorAlert error={remove.error} title="The configuration was not deleted" />
          {!confirming ? (
            <button type="button" className="btn btn-danger" onClick={() => setConfirming(true)}>
              Delete…
            </button>
          ) : (
            <div className="actions" role="group" aria-label="Confirm deletion">
              <span>Delete “{kc.name}”?</span>
              <button
                type="button"
                className="btn btn-danger"
                onClick={() => void remove.run()}
                disabled={remove.busy}
                autoFocus
              >
                {remove.busy ? 'Deleting…' : 'Yes, delete'}
              </button>
              <button type="button" className="btn btn-quiet" onClick={() => setConfirming(false)}>
                Cancel
              </button>
            </div>
          )}
        </section>
      )}
    </section>
  );
}

/** The replica key the configuration names (AWS multi-Region replica, GCP second location, Azure paired vault), or ''. */
function replicaKey(kc: KeyConfiguration): string {
  const r = (kc.aws ?? kc.azure ?? kc.gcp)?.replica;
  if (!r || typeof r !== 'object') return '';
  const v = Object.values(r as Record<string, unknown>)[0];
  return typeof v === 'string' ? v : '';
}

import { useState } from 'react';
import type { Workspace } from '../api/types';
import { ErrorAlert } from './Alert';
import { TextField } from './TextField';

/**
 * "Destroy workspace": a deliberate crypto-shred of this workspace only, behind the workspace name typed back (the
 * same confirmation the API requires). The button stays disabled until the name matches exactly; the API checks it
 * again, so a mistyped or stale form can never destroy anything.
 */
export function DestroyWorkspace({
  workspace,
  onDestroy,
  busy,
  error,
}: {
  workspace: Workspace;
  onDestroy: (confirm: string) => void;
  busy: boolean;
  error: unknown;
}) {
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState('');
  if (workspace.keyState === 'destroyed') return null;
  const matches = typed === workspace.name;
  return (
    <section className="danger-zone" aria-labelledby="destroy-title">
      <h2 id="destroy-title">Destroy this workspace</h2>
      <p>
        Destroying deletes every key of this workspace from Keyhold for good: its key-encryption keys and every data
        key. Data encrypted under them can never be decrypted again, by anyone. Your cloud key is untouched and keeps
        serving your other workspaces. This cannot be undone.
      </p>
      <ErrorAlert error={error} title="The workspace was not destroyed" />
      {!open ? (
        <button type="button" className="btn btn-danger" onClick={() => setOpen(true)}>
          Destroy workspace…
        </button>
      ) : (
        <form
          aria-label="Confirm destroying the workspace"
          onSubmit={(e) => {
            e.preventDefault();
            if (matches) onDestroy(typed);
          }}
        >
          <TextField
            id="destroy-confirm"
            label={`Type the workspace name “${workspace.name}” to confirm`}
            value={typed}
            onChange={setTyped}
            required
            mono
            help="Exactly as shown, including capitals and spaces."
          />
          <div className="actions">
            <button type="submit" className="btn btn-danger" disabled={!matches || busy}>
              {busy ? 'Destroying…' : 'Destroy workspace for good'}
            </button>
            <button
              type="button"
              className="btn btn-quiet"
              onClick={() => {
                setOpen(false);
                setTyped('');
              }}
            >
              Cancel
            </button>
          </div>
        </form>
      )}
    </section>
  );
}

/** Shown instead of every action once the workspace is destroyed. */
export function DestroyedBanner({ workspace }: { workspace: Workspace }) {
  if (workspace.keyState !== 'destroyed') return null;
  return (
    <section className="banner banner-bad" aria-labelledby="destroyed-title">
      <h2 id="destroyed-title">This workspace was destroyed</h2>
      <p>
        Its keys were deleted from Keyhold for good. Data keys are refused (“workspace destroyed”) and the workspace can
        never be bound or reinstated again. Who destroyed it and when is in the audit log.
      </p>
    </section>
  );
}

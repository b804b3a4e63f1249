import type { ComponentChildren } from 'preact';
import { useRef, useState } from 'preact/hooks';

/**
 * A button for something that cannot be undone: it asks first, in a modal
 * dialog (Escape or Cancel backs out), and shows the error if the action fails.
 */
export function ConfirmButton({ label, title, confirm, danger, onConfirm }: { label: string; title: string; confirm: ComponentChildren; danger?: boolean; onConfirm: () => Promise<void> }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function run(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onConfirm();
      dialog.current?.close();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <button type="button" class={danger ? 'danger' : 'secondary'} onClick={() => dialog.current?.showModal()}>
        {label}
      </button>
      <dialog ref={dialog} class="card dialog" aria-label={title} onClose={() => setError(null)}>
        <form method="dialog" onSubmit={run}>
          <h2>{title}</h2>
          <div>{confirm}</div>
          {error && (
            <p class="error" role="alert">
              {error}
            </p>
          )}
          <div class="dialog-actions">
            <button type="button" class="secondary" onClick={() => dialog.current?.close()} autoFocus>
              Cancel
            </button>
            <button type="submit" class={danger ? 'danger' : 'primary'} disabled={busy}>
              {busy ? 'Working…' : label}
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}

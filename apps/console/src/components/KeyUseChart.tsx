import { useId, useState } from 'react';
import type { ApiClient } from '../api/client';
import type { KeyUseBucket, KeyUseByReason } from '../api/types';
import { useTenantQuery } from '../api/queries';
import { ErrorAlert } from './Alert';
import { REASON_LABELS } from './access-reasons';

/** One colour per reason (slot order: no reason, then the six reasons); each at least 3:1 against white. */
const COLOURS = ['#5f6b7a', '#1d4fb8', '#1a6b35', '#8a4b08', '#6b3fa0', '#b1125f', '#a4161a'];
const PERIODS: Array<{ bucket: KeyUseBucket; label: string; span: number; step: number }> = [
  { bucket: 'minute', label: 'Last hour, by minute', span: 3_600_000, step: 60_000 },
  { bucket: 'hour', label: 'Last 24 hours, by hour', span: 86_400_000, step: 3_600_000 },
  { bucket: 'day', label: 'Last 30 days, by day', span: 30 * 86_400_000, step: 86_400_000 },
];

const W = 720;
const H = 220;
const PAD = { left: 44, right: 8, top: 10, bottom: 26 };

/**
 * Key use by reason: DEKs issued per time bucket, stacked by the reason the service gave, as an SVG chart
 * (role img, with a title and a text summary) and the same numbers as a data table; refused requests are counted
 * beside it. For one workspace, or the tenant when `workspaceId` is absent. Read by key admins and auditors.
 */
export function KeyUseChart({ api, workspaceId }: { api: ApiClient; workspaceId?: string }) {
  const [bucket, setBucket] = useState<KeyUseBucket>('hour');
  const period = PERIODS.find((p) => p.bucket === bucket)!;
  const use = useTenantQuery(['key-use', workspaceId ?? null, bucket], () => api.getKeyUse({ workspaceId, bucket }));
  const id = useId();
  return (
    <section aria-labelledby={`${id}-title`} className="key-use">
      <h2 id={`${id}-title`}>Key use by reason</h2>
      <p className="help">
        Why services asked for this {workspaceId ? "workspace's" : "tenant's"} data keys, as recorded in the audit log
        (counted per minute).
      </p>
      <div className="filters inline-form">
        <div className="field">
          <label htmlFor={`${id}-period`}>Period</label>
          <select id={`${id}-period`} value={bucket} onChange={(e) => setBucket(e.target.value as KeyUseBucket)}>
            {PERIODS.map((p) => (
              <option key={p.bucket} value={p.bucket}>
                {p.label}
              </option>
            ))}
          </select>
        </div>
      </div>
      <ErrorAlert error={use.error} title="Could not load key use" />
      {use.loading && <p aria-live="polite">Loading…</p>}
      {use.data && <Chart data={use.data} step={period.step} label={period.label} id={id} />}
    </section>
  );
}

function Chart({ data, step, label, id }: { data: KeyUseByReason; step: number; label: string; id: string }) {
  const reasons = data.reasons;
  // every bucket of the period, empty ones included (a time axis without gaps)
  const first = Math.floor(Date.parse(data.from) / step) * step;
  const to = Date.parse(data.to);
  const starts: number[] = [];
  for (let t = first; t < to; t += step) starts.push(t);
  if (starts.length === 0) starts.push(first);
  const issued = new Map<number, number[]>(starts.map((t) => [t, reasons.map(() => 0)]));
  const denied = new Map<string, number>();
  for (const p of data.points) {
    const t = Math.floor(Date.parse(p.at) / step) * step;
    const row = issued.get(t);
    const r = reasons.indexOf(p.reason);
    if (row && r >= 0) row[r] += p.issued;
    if (p.denied) denied.set(p.reason, (denied.get(p.reason) ?? 0) + p.denied);
  }
  const totals = reasons.map((_, r) => starts.reduce((s, t) => s + issued.get(t)![r], 0));
  const total = totals.reduce((a, b) => a + b, 0);
  const refused = [...denied.values()].reduce((a, b) => a + b, 0);
  const max = Math.max(1, ...starts.map((t) => issued.get(t)!.reduce((a, b) => a + b, 0)));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const barW = plotW / starts.length;
  const y = (v: number) => PAD.top + plotH - (v / max) * plotH;
  const used = reasons.map((r, i) => ({ r, i })).filter(({ i }) => totals[i] > 0);
  const summary =
    total === 0
      ? 'No data keys were issued in this period.'
      : `${total} data key${total === 1 ? '' : 's'} issued: ${used.map(({ r, i }) => `${REASON_LABELS[r] ?? r} ${totals[i]}`).join(', ')}.`;
  const refusedText =
    refused === 0
      ? 'No request was refused.'
      : `${refused} request${refused === 1 ? '' : 's'} refused: ${[...denied].map(([r, n]) => `${REASON_LABELS[r] ?? r} ${n}`).join(', ')}.`;
  const rows = starts.filter((t) => issued.get(t)!.some((v) => v > 0));
  const fmt = (t: number) =>
    new Date(t).toLocaleString(
      undefined,
      step >= 86_400_000 ? { dateStyle: 'medium' } : { dateStyle: 'short', timeStyle: 'short' },
    );
  const ticks = [0, Math.round(max / 2), max].filter((v, i, a) => a.indexOf(v) === i);
  return (
    <>
      <p data-key-use-summary>
        {summary} {refusedText}
      </p>
      <svg
        className="chart"
        viewBox={`0 0 ${W} ${H}`}
        width="100%"
        role="img"
        aria-labelledby={`${id}-svg-title ${id}-svg-desc`}
      >
        <title id={`${id}-svg-title`}>Key use by reason, {label.toLowerCase()}</title>
        <desc id={`${id}-svg-desc`}>{`${summary} The data table below lists every period.`}</desc>
        {ticks.map((v) => (
          <g key={v}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y(v)} y2={y(v)} stroke="#d5dae0" />
            <text x={PAD.left - 6} y={y(v) + 4} textAnchor="end" fontSize="11" fill="#545d68">
              {v}
            </text>
          </g>
        ))}
        {starts.map((t, k) => {
          let acc = 0;
          return (
            <g key={t}>
              {issued.get(t)!.map((v, r) => {
                if (v === 0) return null;
                const y0 = y(acc);
                acc += v;
                return (
                  <rect
                    key={r}
                    x={PAD.left + k * barW + barW * 0.1}
                    width={Math.max(1, barW * 0.8)}
                    y={y(acc)}
                    height={Math.max(0.5, y0 - y(acc))}
                    fill={COLOURS[r % COLOURS.length]}
                  />
                );
              })}
            </g>
          );
        })}
        <text x={PAD.left} y={H - 8} fontSize="11" fill="#545d68">
          {fmt(starts[0])}
        </text>
        <text x={W - PAD.right} y={H - 8} fontSize="11" fill="#545d68" textAnchor="end">
          {fmt(starts[starts.length - 1])}
        </text>
      </svg>
      <ul className="legend" aria-label="Reasons">
        {reasons.map((r, i) => (
          <li key={r}>
            <span className="swatch" style={{ background: COLOURS[i % COLOURS.length] }} aria-hidden="true" />{' '}
            {REASON_LABELS[r] ?? r}
          </li>
        ))}
      </ul>
      <details>
        <summary>Show the numbers as a table</summary>
        {rows.length === 0 ? (
          <p className="empty">No data keys were issued in this period.</p>
        ) : (
          <table className="key-use-table">
            <caption>Data keys issued by reason, {label.toLowerCase()} (periods with use only)</caption>
            <thead>
              <tr>
                <th scope="col">Period starting</th>
                {used.map(({ r }) => (
                  <th scope="col" key={r}>
                    {REASON_LABELS[r] ?? r}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((t) => (
                <tr key={t}>
                  <th scope="row">
                    <time dateTime={new Date(t).toISOString()}>{fmt(t)}</time>
                  </th>
                  {used.map(({ r, i }) => (
                    <td key={r}>{issued.get(t)![i]}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </details>
    </>
  );
}

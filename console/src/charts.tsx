import { compact } from './format';

export interface Bar {
  label: string;
  value: number;
  /** A part of the value drawn over it (errors within calls). */
  part?: number;
}

const W = 560;
const H = 180;
const PAD = { left: 44, bottom: 28, top: 12 };

/** A column chart as inline SVG (no chart library): one column a day, the part in a second colour. */
export function Columns({ title, bars, partLabel }: { title: string; bars: Bar[]; partLabel?: string }) {
  const max = Math.max(0, ...bars.map((b) => b.value)) || 1;
  const width = (W - PAD.left) / Math.max(1, bars.length);
  const y = (v: number) => H - PAD.bottom - (v / max) * (H - PAD.bottom - PAD.top);
  const every = Math.ceil(bars.length / 8);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${title}: ${bars.map((b) => `${b.label} ${b.value}`).join(', ')}`}>
        <line x1={PAD.left} y1={H - PAD.bottom} x2={W} y2={H - PAD.bottom} class="axis" />
        <text x={PAD.left - 6} y={PAD.top + 4} class="tick end">
          {compact(max)}
        </text>
        <text x={PAD.left - 6} y={H - PAD.bottom} class="tick end">
          0
        </text>
        {bars.map((b, i) => {
          const x = PAD.left + i * width + width * 0.15;
          const w = Math.max(1, width * 0.7);
          return (
            <g>
              <rect x={x} y={y(b.value)} width={w} height={H - PAD.bottom - y(b.value)} class="bar">
                <title>{`${b.label}: ${b.value}${b.part ? `, ${partLabel} ${b.part}` : ''}`}</title>
              </rect>
              {b.part ? <rect x={x} y={y(b.part)} width={w} height={H - PAD.bottom - y(b.part)} class="bar part" /> : null}
              {i % every === 0 && (
                <text x={x + w / 2} y={H - 10} class="tick mid">
                  {b.label.slice(5)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

/** Horizontal bars, one per team, longest first. */
export function HBars({ title, bars }: { title: string; bars: Bar[] }) {
  const max = Math.max(0, ...bars.map((b) => b.value)) || 1;
  const row = 22;
  const height = Math.max(row, bars.length * row) + 4;
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${W} ${height}`} role="img" aria-label={`${title}: ${bars.map((b) => `${b.label} ${b.value}`).join(', ')}`}>
        {bars.map((b, i) => (
          <g>
            <text x={150} y={i * row + 15} class="tick end">
              {b.label.length > 22 ? `${b.label.slice(0, 21)}…` : b.label}
            </text>
            <rect x={156} y={i * row + 3} width={Math.max(1, ((W - 220) * b.value) / max)} height={row - 6} class="bar" />
            {b.part ? <rect x={156} y={i * row + 3} width={Math.max(1, ((W - 220) * b.part) / max)} height={row - 6} class="bar part" /> : null}
            <text x={160 + ((W - 220) * b.value) / max} y={i * row + 15} class="tick">
              {compact(b.value)}
            </text>
          </g>
        ))}
      </svg>
    </figure>
  );
}

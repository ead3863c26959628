/** A time span `[from, to)` in ms since the epoch (either end may be infinite). */
export type Span = [number, number];

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
const floorTo = (t: number, unit: number) => Math.floor(t / unit) * unit;
const ceilTo = (t: number, unit: number) => Math.ceil(t / unit) * unit;

/** One read: the day rows, the hour rows or the events of a span, added (+1) or subtracted (-1). */
export interface StatsPiece {
  source: 'day' | 'hour' | 'events';
  span: Span;
  sign: 1 | -1;
}

/** A UTC day the window covers only in part: the signed sum of its pieces is that part, exactly. */
export interface PartialDay {
  day: number;
  pieces: StatsPiece[];
}

/** Which parts of `[from, to)` are read from day rows, hour rows and the events themselves. */
export interface StatsPlan {
  /** Whole UTC days, read from the day rows. */
  days: Span | null;
  /** At most two days cut by the window's ends. */
  partial: PartialDay[];
}

/**
 * Cuts `[from, to)` into whole UTC days (day rows) and, at either end, the part of a day left
 * over. That part is read as whichever side of its cut needs fewer hours of hour rows: the hours
 * inside the window, or the day row minus the hours outside it. A partial hour is read as the
 * events of its smaller side (at most half an hour), with its hour row when that side is the one
 * to take away. So a query reads at most 31 days' rows, 2 x 13 hours' rows and 2 x 30 minutes of
 * events, whatever the window.
 */
export function planStats(from: number, to: number): StatsPlan | null {
  if (!(from < to)) return null;
  const d1 = Number.isFinite(from) ? ceilTo(from, DAY) : from;
  const d2 = Number.isFinite(to) ? floorTo(to, DAY) : to;
  if (d1 > d2) return { days: null, partial: [partialDay(from, to)] };
  const partial: PartialDay[] = [];
  if (from < d1) partial.push(partialDay(from, d1));
  if (d2 < to) partial.push(partialDay(d2, to));
  return { days: d1 < d2 ? [d1, d2] : null, partial };
}

/** `[a, b)` inside one UTC day, as the cheaper of "add what is in" and "the day minus what is out". */
function partialDay(a: number, b: number): PartialDay {
  const day = floorTo(a, DAY);
  const [inside, outside] = [cover(day, a, b, false), cover(day, a, b, true)];
  const reads = (p: StatsPiece[]) => p.filter((x) => x.source !== 'events').reduce((n, x) => n + (x.source === 'day' ? 1 : (x.span[1] - x.span[0]) / HOUR), 0);
  return { day, pieces: reads(outside) < reads(inside) ? outside : inside };
}

function cover(day: number, a: number, b: number, fromDay: boolean): StatsPiece[] {
  const pieces: StatsPiece[] = fromDay ? [{ source: 'day', span: [day, day + DAY], sign: 1 }] : [];
  const add = (source: 'hour' | 'events', span: Span, sign: 1 | -1) => {
    const last = pieces.at(-1);
    if (last && last.source === source && last.sign === sign && last.span[1] === span[0]) last.span = [last.span[0], span[1]];
    else pieces.push({ source, span, sign });
  };
  for (let h = day; h < day + DAY; h += HOUR) {
    const [s, e] = [Math.max(a, h), Math.min(b, h + HOUR)];
    if (s >= e) {
      if (fromDay) add('hour', [h, h + HOUR], -1); // an hour outside the window
    } else if (s === h && e === h + HOUR) {
      if (!fromDay) add('hour', [h, h + HOUR], 1); // an hour inside it
    } else if (e - s <= HOUR - (e - s)) {
      // A partial hour whose inside is the smaller side: its events are added (after taking the hour away, when the day row counted it).
      if (fromDay) add('hour', [h, h + HOUR], -1);
      add('events', [s, e], 1);
    } else {
      // Its outside is the smaller side: the hour row (unless the day row counts it already) less the events outside.
      if (!fromDay) add('hour', [h, h + HOUR], 1);
      if (h < s) add('events', [h, s], -1);
      if (e < h + HOUR) add('events', [e, h + HOUR], -1);
    }
  }
  return pieces;
}

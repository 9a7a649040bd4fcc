/**
 * llama-bench's number lists: comma-separated items, each `first`,
 * `first-last` (every number between, both ends in), `first-last+step` or
 * `first-last*mult` (`-p 64-512*2` is 64,128,256,512). Its command lines
 * carry over to `ferrum bench` with them.
 */

/** More values than any bench run could measure: a typo such as 1-1000000 is an error, not hours of tests. */
export const MAX_RANGE_VALUES = 4096;

const ITEM = /^(\d+)(?:-(\d+)(?:([+*])(\d+))?)?$/;

/** The numbers v names, each >= min; a string saying what is wrong where it names none. */
export function parseIntRanges(v: string, min: number): number[] | string {
  const out: number[] = [];
  for (const raw of v.split(',')) {
    const m = ITEM.exec(raw.trim());
    if (!m) return `expected whole numbers >= ${min} or ranges (first-last, first-last+step, first-last*mult), separated by commas (e.g. 128,512 or 64-512*2)`;
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    const op = m[3] ?? '+';
    const step = m[4] === undefined ? 1 : Number(m[4]);
    if (first < min) return `expected whole numbers >= ${min}; ${raw.trim()} starts at ${first}`;
    if (last < first) return `${raw.trim()}: a range runs from the smaller number to the larger`;
    // a step that does not grow the number would never reach the end
    const next = (i: number): number => (op === '+' ? i + step : i * step);
    if (next(first) <= first) return `${raw.trim()}: the step must make each number larger than the one before`;
    for (let i = first; i <= last; i = next(i)) {
      out.push(i);
      if (out.length > MAX_RANGE_VALUES) return `more than ${MAX_RANGE_VALUES} values`;
    }
  }
  return out;
}

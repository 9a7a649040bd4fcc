// Candidate selection: top-k, top-p and min-p over a candidate list of token
// ids (the logits are looked up by id), with llama.cpp's semantics
// (src/llama-sampler.cpp): probabilities for top-p are the softmax of the
// current candidates' logits at temperature 1 (temperature comes later in
// the chain), min_keep is 0 (common_params_sampling.min_keep), so
//   top-k: the k largest logits (k <= 0 or k >= n: off);
//   top-p: the shortest prefix, in descending logit order, whose cumulative
//          probability reaches p (the token that crosses p is kept; p >= 1: off);
//   min-p: the tokens with logit >= max_logit + log(p), i.e. prob >= p·p_max
//          (p <= 0: off).
// Ties between equal logits go to the lower token id everywhere, so results
// are deterministic (llama.cpp's partial sorts leave tie order unspecified).

import { expNeg } from './fastexp.js';

/**
 * The first index i in [from, n) with logits[i] > thr, or n. The hot loop of
 * argmax and top-k: kept as its own tight function, V8 compiles it to a scan
 * as fast as a plain counting loop (with the bookkeeping inline, the scan ran
 * 2-4x slower).
 */
function nextAbove(logits: Float32Array, from: number, n: number, thr: number): number {
  for (let i = from; i < n; i++) if (logits[i]! > thr) return i;
  return n;
}

/** Index of the largest of logits[0..n); ties → lowest id. NaN entries are skipped. */
export function argmax(logits: Float32Array, n: number = logits.length): number {
  let best = -1;
  let max = -Infinity;
  for (let i = nextAbove(logits, 0, n, max); i < n; i = nextAbove(logits, i + 1, n, max)) {
    best = i;
    max = logits[i]!;
  }
  if (best >= 0) return best;
  // All entries -Infinity or NaN: the first -Infinity, else 0.
  for (let i = 0; i < n; i++) if (logits[i] === -Infinity) return i;
  return 0;
}

/** Largest of logits[0..n) (-Infinity when empty or all NaN). */
export function maxLogit(logits: Float32Array, n: number = logits.length): number {
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = logits[i]!;
    if (v > max) max = v;
  }
  return max;
}

// `a` ranks below `b`: smaller logit, or equal logit and larger id.
function siftDown(heap: Int32Array, size: number, logits: Float32Array, pos: number): void {
  const id = heap[pos]!;
  const v = logits[id]!;
  for (;;) {
    let c = 2 * pos + 1;
    if (c >= size) break;
    let cid = heap[c]!;
    let cv = logits[cid]!;
    const r = c + 1;
    if (r < size) {
      const rid = heap[r]!;
      const rv = logits[rid]!;
      if (rv < cv || (rv === cv && rid > cid)) {
        c = r;
        cid = rid;
        cv = rv;
      }
    }
    if (cv < v || (cv === v && cid > id)) {
      heap[pos] = cid;
      pos = c;
    } else break;
  }
  heap[pos] = id;
}

/**
 * The k largest of logits[0..n) (ties → lower id), written to out[0..k) in
 * descending order; returns k (clamped to [0, n]). One pass over the
 * logits against the current k-th best (a min-heap of size k, kept in
 * `out`), then an in-place heap sort of the k winners: O(n + k log k · …).
 */
export function topKSelect(logits: Float32Array, n: number, k: number, out: Int32Array): number {
  k = Math.min(Math.max(0, Math.floor(k)), n);
  if (k === 0) return 0;
  for (let i = 0; i < k; i++) out[i] = i;
  for (let pos = (k >> 1) - 1; pos >= 0; pos--) siftDown(out, k, logits, pos);
  scanTopK(logits, n, k, out);
  heapSortDescending(logits, k, out);
  return k;
}

function scanTopK(logits: Float32Array, n: number, k: number, heap: Int32Array): void {
  let thr = logits[heap[0]!]!;
  // Later ids lose ties, so strictly greater is the right test.
  for (let i = nextAbove(logits, k, n, thr); i < n; i = nextAbove(logits, i + 1, n, thr)) {
    heap[0] = i;
    siftDown(heap, k, logits, 0);
    thr = logits[heap[0]!]!;
  }
}

/** Heap sort of a min-heap (root = worst): repeatedly move the worst to the end → best first. */
function heapSortDescending(logits: Float32Array, k: number, heap: Int32Array): void {
  for (let size = k - 1; size > 0; size--) {
    const worst = heap[0]!;
    heap[0] = heap[size]!;
    heap[size] = worst;
    siftDown(heap, size, logits, 0);
  }
}

/**
 * Top-p over candidates sorted by descending logit (ids[0] is the max).
 * `scratch` holds at least m doubles. Returns the new count.
 */
export function topPSorted(logits: Float32Array, ids: Int32Array, m: number, p: number, scratch: Float64Array): number {
  if (p >= 1 || m <= 1) return m;
  const max = logits[ids[0]!]!;
  let z = 0;
  for (let j = 0; j < m; j++) {
    const e = expNeg(logits[ids[j]!]! - max);
    scratch[j] = e;
    z += e;
  }
  const target = p * z;
  let cum = 0;
  for (let j = 0; j < m; j++) {
    cum += scratch[j]!;
    if (cum >= target) return j + 1;
  }
  return m;
}

/** The min-p logit threshold, in float32 steps as llama.cpp: max + logf(p). */
export function minPThreshold(max: number, p: number): number {
  return Math.fround(max + Math.fround(Math.log(p)));
}

/** Min-p over candidates sorted by descending logit. Returns the new count (>= 1 when m >= 1). */
export function minPSorted(logits: Float32Array, ids: Int32Array, m: number, p: number): number {
  if (p <= 0 || m <= 1) return m;
  const thr = minPThreshold(logits[ids[0]!]!, p);
  let j = 1; // the first token always stays
  while (j < m && logits[ids[j]!]! >= thr) j++;
  return j;
}

/** Min-p over an unsorted candidate list whose largest logit is `max`; keeps order. */
export function minPFilter(logits: Float32Array, ids: Int32Array, m: number, max: number, p: number): number {
  if (p <= 0 || m <= 1) return m;
  const thr = minPThreshold(max, p);
  let w = 0;
  for (let j = 0; j < m; j++) {
    const id = ids[j]!;
    if (logits[id]! >= thr) ids[w++] = id;
  }
  return w;
}

/** Min-p over the whole vocabulary: ids with logit >= threshold, ascending. */
export function minPFull(logits: Float32Array, n: number, max: number, p: number, out: Int32Array): number {
  const thr = p <= 0 ? -Infinity : minPThreshold(max, p);
  let w = 0;
  for (let i = 0; i < n; i++) if (logits[i]! >= thr) out[w++] = i;
  return w;
}

// ---------------------------------------------------------------------------
// Top-p over the whole vocabulary (top-k off), without sorting it.
//
// One pass computes e_i = exp(l_i - max) and a histogram of the probability
// mass by distance below the max (NB buckets of 1/SCALE nats). Walking the
// buckets from the top finds the bucket in which the cumulative mass crosses
// p·Z; every token in a bucket above it is in the nucleus, whatever the order
// inside. Only the crossing bucket needs ordering: it is split again into NB
// finer buckets (recursively), and sorted once it is small or all of its
// logits are equal. Tokens more than DMAX = 32 nats below the max (each under
// 1.3e-14 of the top token's weight) are left out of Z and of the nucleus.
//
// Every loop over the vocabulary is its own small function: V8 compiles a
// big function with several loops on-stack (OSR) from its first loop and
// then deoptimizes it on reaching the others, on every call.

const NB = 256;
/** exp(-32) = 1.3e-14: even 256k such tokens weigh < 4e-9 of the top one, under float32 rounding. */
const DMAX = 32;
const SCALE = NB / DMAX;
const MAX_DEPTH = 6;
const SMALL = 24;

/** The mass histogram of exp(l_i - max) for d = max - l_i < DMAX; returns Z. */
function massHistogram(logits: Float32Array, n: number, max: number, mass: Float64Array): number {
  let z = 0;
  for (let i = 0; i < n; i++) {
    const d = max - logits[i]!;
    if (d < DMAX) {
      const e = expNeg(-d);
      z += e;
      const bk = (d * SCALE) | 0;
      mass[bk] = mass[bk]! + e;
    }
  }
  return z;
}

/**
 * First bucket whose cumulative mass reaches target (-1 if none does);
 * the mass strictly above it goes to res[0]. (An empty bucket cannot be the
 * first: cum + 0 is the sum that already fell short.)
 */
function crossing(mass: Float64Array, target: number, res: Float64Array): number {
  let cum = 0;
  for (let bk = 0; bk < NB; bk++) {
    if (cum + mass[bk]! >= target) {
      res[0] = cum;
      return bk;
    }
    cum += mass[bk]!;
  }
  res[0] = cum;
  return -1;
}

/** ids with bucket < stop → out (from m on), bucket == stop → side; returns the new m, side count in res[1]. */
function collectBuckets(
  logits: Float32Array,
  n: number,
  max: number,
  stop: number,
  out: Int32Array,
  m: number,
  side: Int32Array,
  res: Float64Array,
): number {
  const limit = (stop + 1) / SCALE;
  let nb = 0;
  for (let i = 0; i < n; i++) {
    const d = max - logits[i]!;
    if (d < limit) {
      if (((d * SCALE) | 0) < stop) out[m++] = i;
      else side[nb++] = i;
    }
  }
  res[1] = nb;
  return m;
}

function subBucket(d: number, lo: number, scale: number): number {
  const bk = ((d - lo) * scale) | 0;
  return bk < 0 ? 0 : bk >= NB ? NB - 1 : bk;
}

function subHistogram(
  logits: Float32Array,
  ids: Int32Array,
  nb: number,
  max: number,
  lo: number,
  scale: number,
  mass: Float64Array,
): void {
  for (let j = 0; j < nb; j++) {
    const d = max - logits[ids[j]!]!;
    const bk = subBucket(d, lo, scale);
    mass[bk] = mass[bk]! + expNeg(-d);
  }
}

function subCollect(
  logits: Float32Array,
  ids: Int32Array,
  nb: number,
  max: number,
  lo: number,
  scale: number,
  stop: number,
  out: Int32Array,
  m: number,
  side: Int32Array,
  res: Float64Array,
): number {
  let nb2 = 0;
  for (let j = 0; j < nb; j++) {
    const id = ids[j]!;
    const bk = subBucket(max - logits[id]!, lo, scale);
    if (bk < stop) out[m++] = id;
    else if (bk === stop) side[nb2++] = id;
  }
  res[1] = nb2;
  return m;
}

function logitRange(logits: Float32Array, ids: Int32Array, nb: number, res: Float64Array): void {
  let minL = Infinity;
  let maxL = -Infinity;
  for (let j = 0; j < nb; j++) {
    const l = logits[ids[j]!]!;
    if (l < minL) minL = l;
    if (l > maxL) maxL = l;
  }
  res[0] = minL;
  res[1] = maxL;
}

/** Appends ids[0..nb) to out (from m on) until their mass exp(l - max) reaches needed; returns the new m. */
function takeUntil(
  logits: Float32Array,
  max: number,
  ids: Int32Array,
  nb: number,
  needed: number,
  out: Int32Array,
  m: number,
): number {
  let cum = 0;
  for (let j = 0; j < nb; j++) {
    const id = ids[j]!;
    out[m++] = id;
    cum += expNeg(logits[id]! - max);
    if (cum >= needed) break;
  }
  return m;
}

export class FullVocabScratch {
  private readonly a: Int32Array;
  private readonly b: Int32Array;
  private readonly mass = new Float64Array(NB);
  private readonly res = new Float64Array(2);

  constructor(readonly n: number) {
    this.a = new Int32Array(n);
    this.b = new Int32Array(n);
  }

  /**
   * Top-p over logits[0..n) whose maximum is `max`. Writes the nucleus ids
   * to out (tokens of the fully kept buckets in ascending id order, then the
   * kept part of the crossing bucket in descending logit order); returns
   * their number (>= 1 when max is finite).
   */
  topP(logits: Float32Array, n: number, max: number, p: number, out: Int32Array): number {
    const { mass, res } = this;
    mass.fill(0);
    const z = massHistogram(logits, n, max, mass);
    if (!(z > 0)) return 0;
    const target = p * z;
    const stop = crossing(mass, target, res);
    const cum = res[0]!;
    if (stop < 0) {
      // Rounding: p·Z never reached → keep everything within DMAX.
      return collectBuckets(logits, n, max, NB, out, 0, this.a, res);
    }
    const m = collectBuckets(logits, n, max, stop, out, 0, this.a, res);
    return this.resolve(logits, max, out, m, res[1]!, stop / SCALE, 1 / SCALE, target - cum);
  }

  /** Appends to out the shortest descending-logit prefix of the crossing bucket with mass >= needed. */
  private resolve(
    logits: Float32Array,
    max: number,
    out: Int32Array,
    m: number,
    nb: number,
    lo: number,
    width: number,
    needed: number,
  ): number {
    const { mass, res } = this;
    let a = this.a;
    let b = this.b;
    for (let depth = 0; ; depth++) {
      logitRange(logits, a, nb, res);
      const allEqual = res[0] === res[1];
      if (nb <= SMALL || allEqual || depth >= MAX_DEPTH) {
        // Ascending id order already is the order when all logits are equal.
        if (!allEqual) sortDescending(logits, a, nb);
        return takeUntil(logits, max, a, nb, needed, out, m);
      }
      mass.fill(0);
      const scale = NB / width;
      subHistogram(logits, a, nb, max, lo, scale, mass);
      const stop = crossing(mass, needed, res);
      if (stop < 0) {
        // Rounding: the sub-buckets sum to a hair under `needed`: keep the whole bucket.
        out.set(a.subarray(0, nb), m);
        return m + nb;
      }
      const cum = res[0]!;
      m = subCollect(logits, a, nb, max, lo, scale, stop, out, m, b, res);
      nb = res[1]!;
      const t = a;
      a = b;
      b = t;
      lo += stop / scale;
      width /= NB;
      needed -= cum;
    }
  }
}

// Run every loop above once, on a tiny input that takes each branch, so the
// interpreter records type feedback for all of them before V8 optimizes.
// Without it a branch first taken in optimized code (say, no token in a
// bucket above the crossing one) deoptimized collectBuckets on every call.
(function warmUp(): void {
  const n = 64;
  const logits = new Float32Array(n);
  for (let i = 0; i < n; i++) logits[i] = ((i * 37) % 61) / 10 - (i % 3 === 0 ? 30 : 0);
  logits[5] = 6;
  logits[9] = 6;
  const s = new FullVocabScratch(n);
  const out = new Int32Array(n);
  const w = new Float64Array(n);
  const max = maxLogit(logits, n);
  for (const p of [0.01, 0.3, 0.6, 0.9, 0.999]) {
    s.topP(logits, n, max, p, out);
    const m = topKSelect(logits, n, 20, out);
    minPSorted(logits, out, topPSorted(logits, out, m, p, w), p);
    minPFilter(logits, out, m, max, p);
    minPFull(logits, n, max, p, out);
  }
  s.topP(new Float32Array(n), n, 0, 0.5, out);
  argmax(logits, n);
})();

/** Sorts ids[0..m) by descending logit, ties by ascending id. */
export function sortDescending(logits: Float32Array, ids: Int32Array, m: number): void {
  if (m <= 32) {
    for (let i = 1; i < m; i++) {
      const id = ids[i]!;
      const v = logits[id]!;
      let j = i - 1;
      while (j >= 0) {
        const o = ids[j]!;
        const ov = logits[o]!;
        if (ov > v || (ov === v && o < id)) break;
        ids[j + 1] = o;
        j--;
      }
      ids[j + 1] = id;
    }
    return;
  }
  const sorted = Array.from(ids.subarray(0, m)).sort((x, y) => logits[y]! - logits[x]! || x - y);
  ids.set(sorted, 0);
}

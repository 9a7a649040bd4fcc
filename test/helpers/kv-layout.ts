/**
 * The KV cache layout of metal/ferrum_params.h (FR_KV_BLOCK_ROWS, fr_kv_row),
 * for tests that read caches back: head-major in blocks of positions.
 * test/params-layout.test.ts checks both against the C header.
 */
export const KV_BLOCK_ROWS = 1024;

/** The head row (from the cache's start, in rows of headDim) of KV head g at position pos < nCtx. */
export function kvRow(g: number, pos: number, nHeadKV: number, nCtx: number): number {
  const b0 = Math.floor(pos / KV_BLOCK_ROWS) * KV_BLOCK_ROWS;
  const rows = Math.min(KV_BLOCK_ROWS, nCtx - b0);
  return b0 * nHeadKV + g * rows + (pos - b0);
}

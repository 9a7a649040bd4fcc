/*
 * r8_prefetch.h — how far ahead the x86 one-token (decode) kernels for the
 * r8 K-quant layouts prefetch their weights: the AVX-512 (x86_avx512_r8.c)
 * and AVX2 (x86_avx2_r8.c) builds stream the same blocks from memory, so
 * they share these distances. Decode is memory-bound; every number here was
 * measured with scripts/step-profile.mjs, decode steps alternating between
 * two settings in one process, both ways round.
 */
#ifndef FERRUM_CPU_QUANTS_R8_PREFETCH_H
#define FERRUM_CPU_QUANTS_R8_PREFETCH_H

#include "blocks.h"

/* Q6_K's r8 block is 1680 bytes, not a whole number of cache lines:
 * each half of the loop prefetches one half of the block ahead, 840
 * bytes from an 8-byte aligned start, which 14 lines always cover. (Twelve
 * lines from 768*h, as before, left the block's last 144 bytes to demand
 * misses: 8-13% of Q6_K's decode time in the AVX2 build on Zen 5.) */
#define FR_Q6_PF_HALF (sizeof(fr_block_q6_K_r8) / 2)
#define FR_Q6_PF_LINES 14

/* Which prefetch pattern measured faster depends on the core, so the
 * kernels read fr_r8_pf_zen4 (r8_prefetch.c): 1 on AMD family 0x19 with
 * AVX-512, which is Zen 4; 0 elsewhere (Zen 5, Zen 3, Intel).
 *
 * Q6_K's one-token kernels may prefetch in two stages: into L2 this many
 * blocks ahead (~16 KiB), then into L1 FR_Q6_PF_L1_BLOCKS ahead.
 * The numbers below up to "since" were measured on the layout before the
 * current one, whose ql and qh runs lay in separate arrays (blocks.h): the
 * hardware prefetcher did not follow it, and software prefetch did all
 * the work. AVX-512 build: on Zen 4 (2 threads, TinyLlama Q4_K_M) Q6_K
 * time 9-13% less than a single L1 stage 4 blocks ahead, 8 and 10 alike,
 * 12 and 16 2-3% behind 10, 6 ~20% behind; on Zen 5 (Qwen3 Q4_K_M,
 * 2026-12-06) Q6_K time 10-11% more than with the single stage.
 * AVX2 build: two stages everywhere, Q6_K time 35-39% less than its single
 * L1 stage 2 blocks ahead on Zen 4 (steps -11 and -13%; L2 distances 6, 10
 * and 14 within 0.7%) and 8-16% less on Zen 5 (Qwen3); Zen 3 not measured.
 * Since the layout is read front to back (Zen 4, AVX-512, 2 threads, both
 * ways round): rows of fewer than FR_R8_LONG_ROW columns (the output
 * matrix) took 2.5-7.6% less time with no software prefetch than with the
 * two stages; ffn_down's long rows -6.7 to +4.4%, and at one thread (where
 * one core's misses in flight limit the stream, as in Zen 4's fast memory
 * phase) +5 and +6% without them, so long rows keep them. The AVX2 build on
 * Zen 4 measured alike or 4-6% faster without them; it keeps its two
 * stages until a Zen 3 says otherwise. Zen 5 keeps its single stage. */
#ifndef FR_Q6_PF_L2_BLOCKS
#define FR_Q6_PF_L2_BLOCKS 10
#endif
#define FR_Q6_PF_L1_BLOCKS 2

/* On Zen 4 only, Q4_K rows of 4096 columns or more (ffn_down) prefetch in
 * the same two stages, into L2 12 blocks ahead and into L1 2 ahead. Zen 4:
 * AVX-512, Qwen3 (6144 columns) ffn_down 4-9% less time in six runs,
 * TinyLlama (5632) -3 to +0.4% in four; AVX2, ffn_down -0.7 to -6.1% in
 * four runs (Qwen3, TinyLlama). On rows of 2048 they gained nothing
 * (AVX-512 gate/up -0.8 to +2.6% in six runs; AVX2 on all rows, steps
 * within 1%). On Zen 5 (Qwen3, 2026-12-06) ffn_down took 9-12% more time
 * with them in the AVX-512 build and 21-25% more in the AVX2 build. Why
 * only long rows, and only Zen 4, is a guess: their activations (4.5-6
 * KiB, re-read for every eight rows) share L1 with the weight lines in
 * flight, as for Q4_0's long rows (x86_r8_q0.c). */
/* (Q6_K's rule above splits its rows at the same length) */
#define FR_R8_LONG_ROW 4096
#define FR_Q4_K_PF_L2_BLOCKS 12
#define FR_Q4_K_PF_L1_BLOCKS 2
/* a block is 1152 bytes, 18 lines from a line start (groups of rows are
 * whole blocks in line-aligned buffers) */
#define FR_Q4_K_PF_LINES 18

/* 1 on Zen 4 (above); set once as the library loads */
extern int fr_r8_pf_zen4;

/* whether a one-token Q4_K row of n columns prefetches in two stages (above) */
static inline int fr_r8_q4_K_two_stage(int n) { return fr_r8_pf_zen4 && n >= FR_R8_LONG_ROW; }

/* how the AVX-512 one-token Q6_K kernel on a row of n columns prefetches
 * (above): Zen 4, two stages on long rows and none on the others; elsewhere
 * one L1 stage */
enum { FR_R8_PF_NONE, FR_R8_PF_L1, FR_R8_PF_TWO_STAGE };
static inline int fr_r8_q6_K_prefetch(int n) {
  if (!fr_r8_pf_zen4) return FR_R8_PF_L1;
  return n >= FR_R8_LONG_ROW ? FR_R8_PF_TWO_STAGE : FR_R8_PF_NONE;
}

#endif

/*
 * blocks.h — ggml's on-disk/in-memory block layouts (ggml-common.h), the one
 * place in C that fixes their sizes. GGUF tensors are mmapped and read with
 * these structs directly, so every size and offset must match ggml's byte
 * for byte; the static asserts turn a padding mistake into a compile error.
 */
#ifndef FERRUM_QUANTS_BLOCKS_H
#define FERRUM_QUANTS_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#include "../quants.h" /* FR_R8_ROWS */

typedef uint16_t fr_half; /* IEEE binary16 bits */

#define FR_QK4_0 32
#define FR_QK4_1 32
#define FR_QK5_0 32
#define FR_QK5_1 32
#define FR_QK8_0 32
#define FR_QK8_1 32
#define FR_QK4_NL 32
#define FR_QK_K 256
#define FR_K_SCALE_SIZE 12

/* q = nibble - 8 */
typedef struct {
  fr_half d;
  uint8_t qs[FR_QK4_0 / 2]; /* element j in the low nibble of qs[j], j+16 in the high one */
} fr_block_q4_0;

/* x = q*d + m */
typedef struct {
  fr_half d;
  fr_half m;
  uint8_t qs[FR_QK4_1 / 2];
} fr_block_q4_1;

/* q = (nibble | bit<<4) - 16 */
typedef struct {
  fr_half d;
  uint8_t qh[4]; /* bit j = 5th bit of element j; unaligned, read with memcpy */
  uint8_t qs[FR_QK5_0 / 2];
} fr_block_q5_0;

typedef struct {
  fr_half d;
  fr_half m;
  uint8_t qh[4];
  uint8_t qs[FR_QK5_1 / 2];
} fr_block_q5_1;

typedef struct {
  fr_half d;
  int8_t qs[FR_QK8_0];
} fr_block_q8_0;

/* activation partner of q4_1/q5_1: s carries d*sum(qs) so the weight's
 * offset m folds into one multiply per block */
typedef struct {
  fr_half d;
  fr_half s;
  int8_t qs[FR_QK8_1];
} fr_block_q8_1;

/* 16 sub-blocks of 16; scales[i] = scale (low nibble) | min (high nibble) */
typedef struct {
  uint8_t scales[FR_QK_K / 16];
  uint8_t qs[FR_QK_K / 4];
  fr_half d;
  fr_half dmin;
} fr_block_q2_K;

/* 16 sub-blocks of 16 with 6-bit signed (offset 32) scales packed in 12 bytes;
 * a clear hmask bit subtracts 4 from the 2-bit quant */
typedef struct {
  uint8_t hmask[FR_QK_K / 8];
  uint8_t qs[FR_QK_K / 4];
  uint8_t scales[12];
  fr_half d;
} fr_block_q3_K;

/* 8 sub-blocks of 32 with 6-bit scales and mins packed in 12 bytes */
typedef struct {
  fr_half d;
  fr_half dmin;
  uint8_t scales[FR_K_SCALE_SIZE];
  uint8_t qs[FR_QK_K / 2];
} fr_block_q4_K;

typedef struct {
  fr_half d;
  fr_half dmin;
  uint8_t scales[FR_K_SCALE_SIZE];
  uint8_t qh[FR_QK_K / 8];
  uint8_t qs[FR_QK_K / 2];
} fr_block_q5_K;

/* 16 sub-blocks of 16 with int8 scales; q = (4 low | 2 high bits) - 32 */
typedef struct {
  uint8_t ql[FR_QK_K / 2];
  uint8_t qh[FR_QK_K / 4];
  int8_t scales[FR_QK_K / 16];
  fr_half d;
} fr_block_q6_K;

/*
 * q4_K_r8: ferrum's own CPU layout (not a ggml type; never in a file).
 * Eight Q4_K rows repacked at load, one block per super-block column:
 * what the eight rows need for 256 columns lies together, and each
 * 32-byte run of qs holds four bytes of every row, so one vector of int8
 * activations (4 broadcast to all rows) multiplies all eight rows at once
 * and the eight results stay in the eight lanes (no horizontal sums).
 * Byte b of qs[c][g][r] is row r's qs[32c + 4g + b]: low nibble column
 * 64c + 4g + b, high nibble column 64c + 32 + 4g + b.
 * The 6-bit scales and mins stay 12 bytes a row, as in Q4_K, so a block
 * is no larger than the eight rows' own (decode reads every byte once a
 * token, at the memory's rate); the kernels spread them to a byte each
 * per block (kernels.h: frq_q4_K_sm), with the low and high bits apart
 * so that takes a few vector ops for all eight rows:
 *   sm_lo[j][r]: sub-block j's scale & 15 | (its min & 15) << 4
 *   sm_hi[c][r]: the top two bits of scales 2c and 2c+1 (bits 0-1, 2-3)
 *                and of mins 2c and 2c+1 (bits 4-5, 6-7)
 * d, dmin and sm take 128 bytes, so qs[c] starts at 128 + 256c and a block
 * is 18 cache lines.
 */
typedef struct {
  fr_half d[FR_R8_ROWS];
  fr_half dmin[FR_R8_ROWS];
  uint8_t sm_lo[8][FR_R8_ROWS];    /* [sub-block j][row r] */
  uint8_t sm_hi[4][FR_R8_ROWS];    /* [sub-block pair c][row r] */
  uint8_t qs[4][8][FR_R8_ROWS][4]; /* [c][g][row r][b] */
} fr_block_q4_K_r8;

/*
 * q6_K_r8: eight Q6_K rows per block. Every 32-byte run holds four bytes
 * of each row, as in q4_K_r8. FR_Q6_R8_QL(blk, h, p, g)[r][b] is row r's
 * ql[64h + 32p + 4g + b] (low nibble column 128h + 32p + 4g + b, high
 * nibble that + 64); FR_Q6_R8_QH(blk, h, g)[r][b] is row r's qh[32h + 4g +
 * b] (bit pairs for columns 128h + 4g + b + 32k, k = 0..3). scales[q][r][k]
 * is row r's scale of sub-block 2q + k (pairs, so one vpmaddwd applies two
 * against Q8_K's per-16 sums).
 * The runs lie in the order the kernels read them: for each h and pair of
 * runs g = 2m, 2m + 1, the two ql[.][0] runs, the two ql[.][1] runs, then
 * the two qh runs (q[h][m][0..2][g % 2]), so a block is read front to back
 * and the hardware prefetcher follows it. (With ql and qh in two arrays,
 * each step read three places 256-1024 bytes apart: with no software
 * prefetch the one-token kernel streamed 8 GB/s on Zen 4, one thread,
 * against 21-30 in this order.)
 */
typedef struct {
  fr_half d[FR_R8_ROWS];
  int8_t scales[8][FR_R8_ROWS][2];
  uint8_t q[2][4][3][2][FR_R8_ROWS][4]; /* [h][g / 2][ql p = 0, ql p = 1, qh][g % 2][row r][b] */
} fr_block_q6_K_r8;
/* the 32-byte runs of a q6_K_r8 block (uint8_t [FR_R8_ROWS][4]); for g
 * even, the run and the next one (g + 1) are 64 contiguous bytes */
#define FR_Q6_R8_QL(blk, h, p, g) ((blk).q[h][(g) >> 1][p][(g) & 1])
#define FR_Q6_R8_QH(blk, h, g) ((blk).q[h][(g) >> 1][2][(g) & 1])

/* q4_0_r8: eight Q4_0 rows per block of 32 columns; qs[g][r][b] is row r's
 * qs[4g + b] (low nibble column 4g + b, high nibble 16 + 4g + b) */
typedef struct {
  fr_half d[FR_R8_ROWS];
  uint8_t qs[4][FR_R8_ROWS][4];
} fr_block_q4_0_r8;

/* q8_0_r8: eight Q8_0 rows per block of 32 columns; qs[g][r][b] is row r's
 * qs[4g + b] */
typedef struct {
  fr_half d[FR_R8_ROWS];
  int8_t qs[8][FR_R8_ROWS][4];
} fr_block_q8_0_r8;

/* activation partner of the K-quants and iq4_xs; the float scale and the
 * per-16 sums let the weights' mins be applied without touching qs */
typedef struct {
  float d;
  int8_t qs[FR_QK_K];
  int16_t bsums[FR_QK_K / 16];
} fr_block_q8_K;

/* non-linear 4-bit: x = d * codebook[nibble] (iq4.c) */
typedef struct {
  fr_half d;
  uint8_t qs[FR_QK4_NL / 2];
} fr_block_iq4_nl;

/* 8 sub-blocks of 32, 6-bit scales (offset 32): low 4 bits in scales_l,
 * high 2 bits in scales_h */
typedef struct {
  fr_half d;
  uint16_t scales_h;
  uint8_t scales_l[FR_QK_K / 64];
  uint8_t qs[FR_QK_K / 2];
} fr_block_iq4_xs;

_Static_assert(sizeof(fr_half) == 2, "fr_half");
_Static_assert(sizeof(fr_block_q4_0) == 18, "block_q4_0 size");
_Static_assert(sizeof(fr_block_q4_1) == 20, "block_q4_1 size");
_Static_assert(sizeof(fr_block_q5_0) == 22, "block_q5_0 size");
_Static_assert(sizeof(fr_block_q5_1) == 24, "block_q5_1 size");
_Static_assert(sizeof(fr_block_q8_0) == 34, "block_q8_0 size");
_Static_assert(sizeof(fr_block_q8_1) == 36, "block_q8_1 size");
_Static_assert(sizeof(fr_block_q2_K) == 84, "block_q2_K size");
_Static_assert(sizeof(fr_block_q3_K) == 110, "block_q3_K size");
_Static_assert(sizeof(fr_block_q4_K) == 144, "block_q4_K size");
_Static_assert(sizeof(fr_block_q4_K_r8) == 8 * 144, "block_q4_K_r8 size");
_Static_assert(sizeof(fr_block_q6_K_r8) == 8 * 210, "block_q6_K_r8 size");
_Static_assert(sizeof(fr_block_q4_0_r8) == 8 * 18, "block_q4_0_r8 size");
_Static_assert(sizeof(fr_block_q8_0_r8) == 8 * 34, "block_q8_0_r8 size");
_Static_assert(sizeof(fr_block_q5_K) == 176, "block_q5_K size");
_Static_assert(sizeof(fr_block_q6_K) == 210, "block_q6_K size");
_Static_assert(sizeof(fr_block_q8_K) == 292, "block_q8_K size");
_Static_assert(sizeof(fr_block_iq4_nl) == 18, "block_iq4_nl size");
_Static_assert(sizeof(fr_block_iq4_xs) == 136, "block_iq4_xs size");
/* fields whose offset is not implied by the size alone */
_Static_assert(offsetof(fr_block_q2_K, d) == 80, "q2_K d offset");
_Static_assert(offsetof(fr_block_q3_K, d) == 108, "q3_K d offset");
_Static_assert(offsetof(fr_block_q6_K, d) == 208, "q6_K d offset");
_Static_assert(offsetof(fr_block_q8_K, bsums) == 260, "q8_K bsums offset");
_Static_assert(offsetof(fr_block_iq4_xs, qs) == 8, "iq4_xs qs offset");

#endif

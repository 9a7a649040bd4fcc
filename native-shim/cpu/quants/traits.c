/*
 * traits.c — the type table behind fr_get_type_traits(). Names, block
 * sizes and vec_dot partners are ggml's (ggml.c type_traits and
 * ggml-cpu.c type_traits_cpu); sizes come from blocks.h.
 */
#include "kernels.h"

#define FR_TRAIT(id, nm, blck, size, dot_type, to, from, dot) \
  [id] = {.name = nm, .blck_size = blck, .type_size = (int32_t)(size), .vec_dot_type = dot_type, \
          .to_float = to, .from_float = from, .vec_dot = dot}
#define FR_TRAIT_DOT4(id, nm, blck, size, dot_type, to, from, dot, dot4) \
  [id] = {.name = nm, .blck_size = blck, .type_size = (int32_t)(size), .vec_dot_type = dot_type, \
          .to_float = to, .from_float = from, .vec_dot = dot, .vec_dot4 = dot4}
#define FR_TRAIT_GEMM(id, nm, blck, size, dot_type, to, from, dot, gemm, gemm_k, gemm_tile, gemm_tile8) \
  [id] = {.name = nm, .blck_size = blck, .type_size = (int32_t)(size), .vec_dot_type = dot_type, \
          .to_float = to, .from_float = from, .vec_dot = dot, .gemm_dot = gemm, .gemm_dot_k = gemm_k, \
          .gemm_dot_tile = gemm_tile, .gemm_dot_tile8 = gemm_tile8}

static const fr_type_traits fr_traits[FR_TYPE_BF16 + 1] = {
  FR_TRAIT_GEMM(FR_TYPE_F32, "f32", 1, sizeof(float), FR_TYPE_F32,
                fr_f32_to_float, fr_f32_from_float, fr_vec_dot_f32, fr_gemm_dot_f32, 8, FR_DOT_TILE(fr_gemm_dot_tile_f32),
                FR_DOT_TILE8(fr_gemm_dot_tile8_f32)),
  FR_TRAIT_GEMM(FR_TYPE_F16, "f16", 1, sizeof(fr_half), FR_TYPE_F16,
                fr_f16_to_float, fr_f16_from_float, fr_vec_dot_f16, fr_gemm_dot_f16, 8, FR_DOT_TILE(fr_gemm_dot_tile_f16),
                FR_DOT_TILE8(fr_gemm_dot_tile8_f16)),
  FR_TRAIT_GEMM(FR_TYPE_BF16, "bf16", 1, sizeof(uint16_t), FR_TYPE_BF16,
                fr_bf16_to_float, fr_bf16_from_float, fr_vec_dot_bf16, fr_gemm_dot_bf16, FR_BF16_GEMM_K, FR_DOT_TILE(fr_gemm_dot_tile_bf16),
                FR_DOT_TILE8_BF16),

  /* weight types: ferrum never quantizes weights, so no from_float, except
   * Q8_0, which is also the (optional) KV-cache type */
  FR_TRAIT(FR_TYPE_Q4_0, "q4_0", FR_QK4_0, sizeof(fr_block_q4_0), FR_TYPE_Q8_0,
           fr_q4_0_to_float, NULL, fr_vec_dot_q4_0_q8_0),
  FR_TRAIT(FR_TYPE_Q4_1, "q4_1", FR_QK4_1, sizeof(fr_block_q4_1), FR_TYPE_Q8_1,
           fr_q4_1_to_float, NULL, fr_vec_dot_q4_1_q8_1),
  FR_TRAIT(FR_TYPE_Q5_0, "q5_0", FR_QK5_0, sizeof(fr_block_q5_0), FR_TYPE_Q8_0,
           fr_q5_0_to_float, NULL, fr_vec_dot_q5_0_q8_0),
  FR_TRAIT(FR_TYPE_Q5_1, "q5_1", FR_QK5_1, sizeof(fr_block_q5_1), FR_TYPE_Q8_1,
           fr_q5_1_to_float, NULL, fr_vec_dot_q5_1_q8_1),
  FR_TRAIT(FR_TYPE_Q8_0, "q8_0", FR_QK8_0, sizeof(fr_block_q8_0), FR_TYPE_Q8_0,
           fr_q8_0_to_float, fr_q8_0_from_float, fr_vec_dot_q8_0_q8_0),
  FR_TRAIT(FR_TYPE_Q2_K, "q2_K", FR_QK_K, sizeof(fr_block_q2_K), FR_TYPE_Q8_K,
           fr_q2_K_to_float, NULL, fr_vec_dot_q2_K_q8_K),
  FR_TRAIT(FR_TYPE_Q3_K, "q3_K", FR_QK_K, sizeof(fr_block_q3_K), FR_TYPE_Q8_K,
           fr_q3_K_to_float, NULL, fr_vec_dot_q3_K_q8_K),
  FR_TRAIT_DOT4(FR_TYPE_Q4_K, "q4_K", FR_QK_K, sizeof(fr_block_q4_K), FR_TYPE_Q8_K,
                fr_q4_K_to_float, NULL, fr_vec_dot_q4_K_q8_K, FR_DOT4(fr_vec_dot4_q4_K_q8_K)),
  FR_TRAIT(FR_TYPE_Q5_K, "q5_K", FR_QK_K, sizeof(fr_block_q5_K), FR_TYPE_Q8_K,
           fr_q5_K_to_float, NULL, fr_vec_dot_q5_K_q8_K),
  FR_TRAIT_DOT4(FR_TYPE_Q6_K, "q6_K", FR_QK_K, sizeof(fr_block_q6_K), FR_TYPE_Q8_K,
                fr_q6_K_to_float, NULL, fr_vec_dot_q6_K_q8_K, FR_DOT4(fr_vec_dot4_q6_K_q8_K)),
  FR_TRAIT(FR_TYPE_IQ4_NL, "iq4_nl", FR_QK4_NL, sizeof(fr_block_iq4_nl), FR_TYPE_Q8_0,
           fr_iq4_nl_to_float, NULL, fr_vec_dot_iq4_nl_q8_0),
  FR_TRAIT(FR_TYPE_IQ4_XS, "iq4_xs", FR_QK_K, sizeof(fr_block_iq4_xs), FR_TYPE_Q8_K,
           fr_iq4_xs_to_float, NULL, fr_vec_dot_iq4_xs_q8_K),

  /* activation-only types: nothing is stored in them, so no vec_dot */
  FR_TRAIT(FR_TYPE_Q8_1, "q8_1", FR_QK8_1, sizeof(fr_block_q8_1), FR_TYPE_Q8_1,
           fr_q8_1_to_float, fr_q8_1_from_float, NULL),
  FR_TRAIT(FR_TYPE_Q8_K, "q8_K", FR_QK_K, sizeof(fr_block_q8_K), FR_TYPE_Q8_K,
           fr_q8_K_to_float, fr_q8_K_from_float, NULL),
};

const fr_type_traits *fr_get_type_traits(int32_t type) {
  if (type < 0 || type >= (int32_t)(sizeof fr_traits / sizeof fr_traits[0])) return NULL;
  /* holes in the id space (removed or unsupported types) have no name */
  return fr_traits[type].name ? &fr_traits[type] : NULL;
}

int fr_type_dot_available(int32_t type) {
  const fr_type_traits *t = fr_get_type_traits(type);
  if (!t || !t->vec_dot) return 0;
  if (t->vec_dot_type == FR_TYPE_F32) return 1;
  const fr_type_traits *a = fr_get_type_traits(t->vec_dot_type);
  return a && a->from_float;
}

const fr_r8_traits *fr_get_r8_traits(int32_t type) {
  static const fr_r8_traits q4_K = {sizeof(fr_block_q4_K_r8), fr_repack_q4_K_r8, fr_gemm_q4_K_r8_q8_K, FR_GEMM2(fr_gemm2_q4_K_r8_q8_K)};
  static const fr_r8_traits q6_K = {sizeof(fr_block_q6_K_r8), fr_repack_q6_K_r8, fr_gemm_q6_K_r8_q8_K, FR_GEMM2(fr_gemm2_q6_K_r8_q8_K)};
  static const fr_r8_traits q4_0 = {sizeof(fr_block_q4_0_r8), fr_repack_q4_0_r8, fr_gemm_q4_0_r8_q8_0, FR_GEMM2(fr_gemm2_q4_0_r8_q8_0)};
  static const fr_r8_traits q8_0 = {sizeof(fr_block_q8_0_r8), fr_repack_q8_0_r8, fr_gemm_q8_0_r8_q8_0, FR_GEMM2(fr_gemm2_q8_0_r8_q8_0)};
  switch (type) {
  case FR_TYPE_Q4_K: return &q4_K;
  case FR_TYPE_Q6_K: return &q6_K;
  case FR_TYPE_Q4_0: return &q4_0;
  case FR_TYPE_Q8_0: return &q8_0;
  default: return NULL;
  }
}

/*
 * kernels.c — name -> kernel registry. Typed families (get_rows_<t>,
 * mul_mat_<t>) are instantiated for every ggml type ferrum computes with;
 * whether a type actually works is asked of the quant traits at lookup,
 * so a missing traits entry is an FR_E_UNSUPPORTED naming the kernel rather
 * than a NULL call later.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "kernel.h"
#include "quants.h"

typedef struct fr_type_name {
  const char *name;
  int32_t type;
} fr_type_name;

static const fr_type_name g_types[] = {
    {"f32", FR_TYPE_F32},   {"f16", FR_TYPE_F16},       {"bf16", FR_TYPE_BF16},    {"q4_0", FR_TYPE_Q4_0},
    {"q4_1", FR_TYPE_Q4_1}, {"q5_0", FR_TYPE_Q5_0},     {"q5_1", FR_TYPE_Q5_1},    {"q8_0", FR_TYPE_Q8_0},
    {"q2_K", FR_TYPE_Q2_K}, {"q3_K", FR_TYPE_Q3_K},     {"q4_K", FR_TYPE_Q4_K},    {"q5_K", FR_TYPE_Q5_K},
    {"q6_K", FR_TYPE_Q6_K}, {"iq4_nl", FR_TYPE_IQ4_NL}, {"iq4_xs", FR_TYPE_IQ4_XS},
};
#define N_TYPES (sizeof g_types / sizeof g_types[0])

#define MAX_KERNELS 96
static fr_kernel_desc g_kernels[MAX_KERNELS];
static int g_n_kernels;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void add(const fr_kernel_desc *tmpl, const char *name, int32_t type) {
  fr_kernel_desc *k = &g_kernels[g_n_kernels++];
  *k = *tmpl;
  snprintf(k->name, sizeof k->name, "%s", name);
  k->type = type;
}

static void build_registry(void) {
  add(&fr_op_rms_norm_f32, "rms_norm_f32", -1);
  add(&fr_op_add_f32, "add_f32", -1);
  add(&fr_op_mul_f32, "mul_f32", -1);
  add(&fr_op_rope_f32, "rope_f32", -1);
  add(&fr_op_soft_max_f32, "soft_max_f32", -1);
  add(&fr_op_swiglu_f32, "swiglu_f32", -1);
  add(&fr_op_kv_store, "cpy_f32_f16", FR_TYPE_F16);
  add(&fr_op_kv_store, "cpy_f32_f32", FR_TYPE_F32);
  add(&fr_op_kv_store, "cpy_f32_q8_0", FR_TYPE_Q8_0);
  add(&fr_op_attn, "attn_f16", FR_TYPE_F16);
  add(&fr_op_attn, "attn_f32", FR_TYPE_F32);
  add(&fr_op_attn, "attn_q8_0", FR_TYPE_Q8_0);
  add(&fr_op_moe_route_f32, "moe_route_f32", -1);
  add(&fr_op_moe_sum_f32, "moe_sum_f32", -1);
  char name[40];
  for (size_t i = 0; i < N_TYPES; i++) {
    snprintf(name, sizeof name, "get_rows_%s", g_types[i].name);
    add(&fr_op_get_rows, name, g_types[i].type);
    snprintf(name, sizeof name, "mul_mat_%s", g_types[i].name);
    add(&fr_op_mul_mat, name, g_types[i].type);
    snprintf(name, sizeof name, "mul_mat_id_%s", g_types[i].name);
    add(&fr_op_mul_mat_id, name, g_types[i].type);
    if (fr_get_r8_traits(g_types[i].type)) {
      snprintf(name, sizeof name, "mul_mat_%s_r8", g_types[i].name);
      add(&fr_op_mul_mat_r8, name, g_types[i].type);
      snprintf(name, sizeof name, "repack_%s_r8", g_types[i].name);
      add(&fr_op_repack_r8, name, g_types[i].type);
    }
  }
}

static const char *type_name(int32_t type) {
  for (size_t i = 0; i < N_TYPES; i++)
    if (g_types[i].type == type) return g_types[i].name;
  return "?";
}

const fr_kernel_desc *fr_kernel_by_id(int32_t id) {
  pthread_once(&g_once, build_registry);
  if (id < 1 || id > g_n_kernels) return NULL;
  return &g_kernels[id - 1];
}

FR_EXPORT int32_t fr_kernel(int32_t dev, const char *name) {
  pthread_once(&g_once, build_registry);
  fr_api_lock();
  fr_device *d = fr_device_get(dev);
  fr_api_unlock();
  if (!d) return FR_E_INVALID;
  if (!name) return fr_fail(FR_E_INVALID, "fr_kernel: name is NULL");
  for (int i = 0; i < g_n_kernels; i++) {
    const fr_kernel_desc *k = &g_kernels[i];
    if (strcmp(k->name, name) != 0) continue;
    if (k->available && !k->available(k->type))
      return fr_fail(FR_E_UNSUPPORTED, "kernel %s: the CPU backend has no support for type %s", name,
                     type_name(k->type));
    return i + 1;
  }
  return fr_fail(FR_E_UNSUPPORTED, "unknown kernel '%.100s'", name);
}

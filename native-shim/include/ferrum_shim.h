/*
 * ferrum_shim.h — the ONE C ABI every ferrum executor implements.
 *
 * Executors: native-shim/cpu (C, any OS), native-shim/metal (Swift, macOS),
 * and the test-only MSL emulator. TypeScript (src/backend/) is the only
 * caller, through ffi-rs. The ABI is deliberately flat: every object is an
 * int32 handle (> 0), every failure is a negative FR_E_* code with a message
 * readable through fr_last_error(); nothing aborts the process.
 *
 * Why a plan: one FFI call costs ~10 us, a decode step is a few hundred ops,
 * so a step is uploaded once as a flat array of fr_op records and replayed
 * with ONE call, patching only dynamic fields (position, token count).
 */
#ifndef FERRUM_SHIM_H
#define FERRUM_SHIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FR_ABI_VERSION 1
#define FR_MAX_BINDINGS 8
#define FR_PLAN_MAGIC 0x4C505246u /* "FRPL" little-endian */
#define FR_MAX_SLOTS 4

enum fr_status {
  FR_OK = 0,
  FR_E_INVALID = -1,     /* bad handle, argument, record, or range */
  FR_E_NOMEM = -2,       /* allocation failed */
  FR_E_IO = -3,          /* open/stat/mmap failed */
  FR_E_UNSUPPORTED = -4, /* unknown kernel name or type */
  FR_E_DEVICE = -5,      /* executor-specific failure (Metal compile, ...) */
};

/* A buffer bound to one kernel argument: bytes start at `offset`. */
typedef struct fr_binding {
  int32_t buffer;   /* buffer handle, 0 = unused */
  uint32_t _pad;
  uint64_t offset;  /* byte offset into the buffer */
} fr_binding;       /* 16 bytes */

/* One op: a kernel, its buffers, its params bytes and its dispatch size.
 * The CPU executor ignores grid/threadgroup (it splits work itself). */
typedef struct fr_op {
  int32_t kernel;         /* from fr_kernel() */
  uint32_t n_bindings;    /* <= FR_MAX_BINDINGS */
  uint32_t params_offset; /* into the plan's params blob (eager: ignored) */
  uint32_t params_size;   /* bytes of the kernel's params struct */
  uint32_t grid[3];       /* threadgroups per grid (Metal) */
  uint32_t threadgroup[3];/* threads per threadgroup (Metal) */
  fr_binding bindings[FR_MAX_BINDINGS];
} fr_op;                  /* 40 + 128 = 168 bytes */

/* A dynamic field: before each replay, for every patch,
 *   *(int32_t *)(params of op `op` + offset) = slots[slot] * scale + bias */
typedef struct fr_patch {
  uint32_t op;
  uint32_t offset;
  uint32_t slot;   /* < FR_MAX_SLOTS */
  int32_t scale;
  int32_t bias;
} fr_patch;        /* 20 bytes */

/* A plan blob: header, then n_ops fr_op, then n_patches fr_patch, then
 * params_bytes of params (each op's params at params_offset, 4-aligned). */
typedef struct fr_plan_header {
  uint32_t magic;   /* FR_PLAN_MAGIC */
  uint32_t version; /* FR_ABI_VERSION */
  uint32_t n_ops;
  uint32_t n_patches;
  uint32_t params_bytes;
  uint32_t _pad;
} fr_plan_header;   /* 24 bytes */

/* --- errors and version --- */
int32_t fr_abi_version(void);
const char *fr_last_error(void); /* message of the last failure on this thread */

/* --- device --- */
int32_t fr_device_open(int32_t n_threads);       /* n_threads <= 0: one per core */
int32_t fr_device_close(int32_t dev);
const char *fr_device_name(int32_t dev);         /* e.g. "cpu (avx512 vnni, 2 threads)" */
int32_t fr_device_threads(int32_t dev);
int64_t fr_device_memory(int32_t dev);           /* bytes usable for models */

/* --- read-only file mapping (weights are never copied) --- */
int32_t fr_map_file(int32_t dev, const char *path);
int64_t fr_map_size(int32_t map);
int32_t fr_map_close(int32_t map);               /* fails while buffers wrap it */

/* --- buffers --- */
int32_t fr_buffer_new(int32_t dev, int64_t bytes);                    /* zero-filled */
int32_t fr_buffer_wrap(int32_t dev, int32_t map, int64_t offset, int64_t bytes); /* zero-copy view */
void *fr_buffer_contents(int32_t buf);           /* host pointer, NULL on error */
int64_t fr_buffer_size(int32_t buf);
int32_t fr_buffer_free(int32_t buf);

/* --- kernels: resolve an op name ("mul_mat_q4_K", "rms_norm_f32") --- */
int32_t fr_kernel(int32_t dev, const char *name);

/* --- eager mode: one op per call; sync != 0 waits for completion --- */
int32_t fr_dispatch(int32_t dev, const uint8_t *op, const uint8_t *params, int32_t params_size, int32_t sync);
int32_t fr_sync(int32_t dev);

/* --- plans: validated once at upload, replayed with one call --- */
int32_t fr_plan_new(int32_t dev, const uint8_t *blob, int64_t bytes);
int32_t fr_plan_run(int32_t plan, int32_t slot0, int32_t slot1, int32_t slot2, int32_t slot3);
int32_t fr_plan_free(int32_t plan);

#ifdef __cplusplus
}
#endif
#endif

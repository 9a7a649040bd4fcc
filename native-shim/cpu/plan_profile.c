/* plan_profile.c — see plan_profile.h; the table goes to stderr at exit. */
#ifdef FR_PLAN_PROFILE
#define _POSIX_C_SOURCE 200809L
#include "plan_profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FR_PROFILE_ROWS 64

typedef struct {
  char name[48];
  uint64_t ns[2];
  uint64_t calls;
  uint64_t bytes; /* weight bytes read, over all calls (mul_mat ops) */
} row;

/* The first replayed step is not counted: it is `ferrum bench`'s warm-up
 * token, and it first touches the KV cache's pages (carved lazily from
 * huge-page slabs: ~5 ms a 2 MiB page on the development VM). Counted in A,
 * it put 350 us a step into A's KV copy on Qwen3-1.7B, 1% of B/A. */
#define FR_PROFILE_SKIP_STEPS 1

int fr_plan_step_b;
static row rows[FR_PROFILE_ROWS];
static uint64_t steps[2], step_ns[2], seen;
static int skipping;

uint64_t fr_plan_profile_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void report(void) {
  if (!steps[0] || !steps[1]) return;
  fprintf(stderr, "step profile (FR_PLAN_PROFILE): %llu steps A (even), %llu B (odd), the first %d not counted; us a step\n",
          (unsigned long long)steps[0], (unsigned long long)steps[1], FR_PROFILE_SKIP_STEPS);
  fprintf(stderr, "%-44s %12s %12s %10s %8s\n", "op", "A", "B", "calls", "GB/s");
  for (int i = 0; i < FR_PROFILE_ROWS && rows[i].name[0]; i++) {
    fprintf(stderr, "%-44s %12.1f %12.1f %10.2f", rows[i].name, rows[i].ns[0] / 1e3 / steps[0],
            rows[i].ns[1] / 1e3 / steps[1], (double)rows[i].calls / (steps[0] + steps[1]));
    if (rows[i].bytes) fprintf(stderr, " %8.1f", (double)rows[i].bytes / (rows[i].ns[0] + rows[i].ns[1]));
    fputc('\n', stderr);
  }
  const double a = step_ns[0] / 1e3 / steps[0], b = step_ns[1] / 1e3 / steps[1];
  fprintf(stderr, "%-34s %12.1f %12.1f   B/A %.4f\n", "step", a, b, b / a);
}

void fr_plan_profile_step_begin(void) {
  static int registered;
  if (!registered) registered = 1, atexit(report);
  skipping = seen < FR_PROFILE_SKIP_STEPS;
  fr_plan_step_b = (int)(seen++ & 1);
}

void fr_plan_profile_op(const char *name, uint32_t n_grouped, uint64_t weight_bytes, uint64_t t0) {
  if (skipping) return;
  const uint64_t dt = fr_plan_profile_now() - t0;
  char key[48], size[16] = "";
  /* matrices of one kernel but different shapes (attn_output, ffn_down)
   * get rows of their own, with their streaming rate */
  if (weight_bytes) snprintf(size, sizeof size, " %.2f MB", weight_bytes / 1e6);
  if (n_grouped > 1)
    snprintf(key, sizeof key, "%s +%u grouped%s", name, n_grouped - 1, size);
  else
    snprintf(key, sizeof key, "%s%s", name, size);
  int i = 0;
  while (i < FR_PROFILE_ROWS - 1 && rows[i].name[0] && strcmp(rows[i].name, key)) i++;
  if (!rows[i].name[0]) memcpy(rows[i].name, key, sizeof key);
  rows[i].ns[fr_plan_step_b] += dt;
  rows[i].calls++;
  rows[i].bytes += weight_bytes;
}

void fr_plan_profile_step_end(uint64_t t0) {
  if (skipping) return;
  step_ns[fr_plan_step_b] += fr_plan_profile_now() - t0;
  steps[fr_plan_step_b]++;
}
#else
typedef int fr_plan_profile_unused; /* a translation unit must declare something */
#endif

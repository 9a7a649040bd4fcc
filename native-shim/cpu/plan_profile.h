/*
 * plan_profile.h — how long each op of a replayed plan takes, in builds
 * made with -DFR_PLAN_PROFILE (scripts/bench/step-profile.mjs); nothing in
 * normal builds. FERRUM_PROFILE=1 runs ops one FFI call each, which is
 * fine for the big ops and swamps the small ones; this times the replayed
 * step itself.
 *
 * Steps alternate between two halves, A (even) and B (odd), reported side
 * by side: code under comparison may read fr_plan_step_b and take one path
 * on A steps and the other on B steps, so both run interleaved in the same
 * minute on the same file. On a shared machine whose speed moves 10-20%
 * from one minute to the next, that is what makes a 2% change measurable.
 */
#ifndef FERRUM_CPU_PLAN_PROFILE_H
#define FERRUM_CPU_PLAN_PROFILE_H

#ifdef FR_PLAN_PROFILE
#include <stdint.h>

/* 1 during odd (B) steps */
extern int fr_plan_step_b;

uint64_t fr_plan_profile_now(void);
/* at the start of a replay: picks A or B */
void fr_plan_profile_step_begin(void);
/* `n_grouped` ops from one starting at t0 (mul_mat groups run as one),
 * reading `weight_bytes` of weights (0 for ops without) */
void fr_plan_profile_op(const char *name, uint32_t n_grouped, uint64_t weight_bytes, uint64_t t0);
void fr_plan_profile_step_end(uint64_t t0);
#endif

#endif

// rope.metal — rope_f32 on f32 [n_tokens][n_head*head_dim] (in place allowed).
// mode 0 rotates adjacent pairs (2i, 2i+1); mode 2 (neox) pairs (i, i+n_dims/2).
// Geometry: one thread per (pair or pass-through column pair, head, token):
// grid (ceil(head_dim/2 / 32), n_head, n_tokens), threadgroup (32,1,1).
#include "ferrum_metal.h"

kernel void kernel_rope_f32(constant fr_rope_params & p [[buffer(0)]],
                            device const float * src [[buffer(1)]],
                            device float * dst [[buffer(2)]],
                            uint3 tgpig [[threadgroup_position_in_grid]],
                            ushort tpitg [[thread_index_in_threadgroup]]) {
  const uint i = tgpig.x * 32 + tpitg; // pair index
  if (tgpig.z >= p.n_tokens) return; // grid sized for the largest batch
  if (i >= p.head_dim / 2) return;
  const ulong base = ((ulong)tgpig.z * p.n_head + tgpig.y) * p.head_dim;
  device const float * x = src + base;
  device float * y = dst + base;
  if (2 * i >= p.n_dims) { // past the rotated dims: copy through
    y[2 * i] = x[2 * i];
    y[2 * i + 1] = x[2 * i + 1];
    return;
  }
  // theta = pos * base^(-2i/n_dims), as the CPU's cumulative product
  const float theta_scale = pow(p.freq_base, -2.0f / (float)p.n_dims);
  float theta = (float)(p.pos0 + tgpig.z);
  for (uint k = 0; k < i; k++) theta *= theta_scale;
  const float t = p.freq_scale * theta;
  const float c = cos(t), s = sin(t);
  const uint a = p.mode == 0 ? 2 * i : i;
  const uint b = p.mode == 0 ? 2 * i + 1 : i + p.n_dims / 2;
  const float x0 = x[a], x1 = x[b];
  y[a] = fma(x0, c, -(x1 * s));
  y[b] = fma(x0, s, x1 * c);
}

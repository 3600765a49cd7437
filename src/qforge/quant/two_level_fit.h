// Fitting a k-quant super-block: values are grouped in sub-blocks, each with an integer scale
// (and for affine types an integer minimum) that is itself a multiple of a half-precision
// super-block scale. The error depends only on the stored integers, so after a first fit the
// quantized scales are refitted against the codes they produce, alternating until no step
// lowers the importance-weighted error.
#pragma once

#include <cstdint>
#include <span>

namespace qforge::quant_internal {

// Symmetric sub-blocks: x ~ D * L_j * value(code), L_j in [l_lo, l_hi].
struct SymmetricSpec {
  int n_sub;        // sub-blocks per super-block
  int sub_size;     // values per sub-block
  int q_lo, q_hi;   // integer code range (ignored with a grid)
  int l_lo, l_hi;   // sub-block scale range
  const int8_t* grid = nullptr;  // non-linear code values (IQ4), 16 entries, sorted
};

struct SymmetricResult {
  uint16_t d16;   // super-block scale, half precision
  int L[16];      // sub-block scales
  int8_t codes[256];  // integer code, or grid index for a grid
  double error;
};

SymmetricResult FitSymmetricSuperBlock(const float* x, const float* w, const SymmetricSpec& spec);

// Affine sub-blocks: x ~ D * L_j * q - Dmin * M_j, q in [0, q_max], L_j in [0, l_max],
// M_j in [0, m_max].
struct AffineSpec {
  int n_sub, sub_size;
  int q_max;
  int l_max, m_max;
};

struct AffineResult {
  uint16_t d16, dmin16;
  int L[16], M[16];
  uint8_t codes[256];
  double error;
};

AffineResult FitAffineSuperBlock(const float* x, const float* w, const AffineSpec& spec);

}  // namespace qforge::quant_internal

// Weight matrices regrouped eight rows at a time, the layout the fastest matmul kernels read.
//
// A row-major matrix makes the dot kernel finish one weight row before starting the next: per
// 32 values it converts one fp16 scale, widens one block of products and does one float
// multiply-add, and the row ends in a horizontal sum. Interleaving eight rows block by block
// lets one vector hold the same block of all eight rows, so those steps run once per eight
// rows (llama.cpp repacks Q4_0 the same way on AVX2). The file on disk keeps llama.cpp's
// layout; the model makes an interleaved copy when it loads (Model::Load).
//
// Layout: group g holds rows 8g..8g+7; within a group, block b of the eight rows is stored as
//   d[8]   (fp16, row k's scale)            all formats
//   m[8]   (fp16, row k's minimum)          Q4_1, Q5_1
//   fifth  32 bytes, Q5_0/Q5_1: byte 4k + i holds row k's fifth bits of values 4s + i (bit s)
//          and 16 + 4s + i (bit 4 + s) for s = 0..3, where the kernels can shift them out
//   codes  32-byte vectors; in vector s, bytes 4k..4k+3 are row k's code bytes 4s..4s+3
//          (4-bit and 5-bit formats: 4 vectors of nibble pairs, byte j holding values j and
//          j + 16, as in the row-major block; Q8_0: 8 vectors of signed bytes)
// so a group block is exactly eight row-major blocks in size.
//
// Arithmetic, the same in every kernel (scalar reference and SIMD), per output row k:
//   acc = fma(float(exact integer dot of block b), d_k * d_activation_b, acc), b = 0, 1, ...
//   Q4_1/Q5_1 add off = fma(m_k, s_activation_b, off) and return acc + off.
// The result of row k never depends on which other rows (weight or activation) were computed
// with it, so prompts and generation agree bit for bit.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qforge/core/cpu_features.h"
#include "qforge/formats/ggml_type.h"

namespace qforge {

struct WeightMatrix;

inline constexpr int kInterleaveRows = 8;

// Whether a matrix of this type and shape has an interleaved form (Q4_0, Q4_1, Q5_0, Q5_1,
// Q8_0 with a multiple of eight rows and of 32 values per row).
bool CanInterleave(GgmlType type, int64_t n_in, int64_t n_out);

// Bytes of one group (eight rows) of an interleavable matrix.
size_t InterleavedGroupBytes(GgmlType type, int64_t n_in);

// Writes the interleaved form of `w` (CanInterleave must hold) to `out`, w.bytes() bytes.
void InterleaveRows(const WeightMatrix& w, uint8_t* out);

// Eight interleaved weight rows (one group) dotted with R activation rows `act_stride` bytes
// apart: y[r * ldy + k] for weight row k and activation row r. Activations are in the weight
// type's vec_dot type (Q8_0 or Q8_1); Q4_0/Q5_0 also need each Q8_0 activation block's code sum,
// `block_sums` (n / 32 per row, rows `sums_stride` entries apart).
using InterleavedDotFn = void (*)(int64_t n, const uint8_t* group, const uint8_t* activations, size_t act_stride,
                                  const int16_t* block_sums, size_t sums_stride, float* y, int64_t ldy);

// The scalar reference for one activation row, written from the arithmetic above.
void InterleavedDotReference(GgmlType type, int64_t n, const uint8_t* group, const uint8_t* activation,
                             const int16_t* block_sums, float* y);

// The kernels for one interleavable type: `one` for one activation row, `four` for four
// (null where the ISA has none). Every ISA's kernels give the reference's bits.
struct InterleavedKernels {
  InterleavedDotFn one = nullptr;
  InterleavedDotFn four = nullptr;
};
// For an explicit ISA (tests): empty when the ISA has none or the CPU rules it out; the scalar
// level is the reference, one row per call.
InterleavedKernels InterleavedKernelsForIsa(GgmlType type, Isa isa);
// The best this CPU has; never empty for a type CanInterleave accepts.
InterleavedKernels SelectInterleavedKernels(GgmlType type);

}  // namespace qforge

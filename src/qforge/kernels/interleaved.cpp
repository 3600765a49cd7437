#include "qforge/kernels/interleaved.h"

#include <cmath>
#include <cstring>

#include "qforge/core/fp16.h"
#include "qforge/formats/blocks.h"
#include "qforge/kernels/matmul.h"
#include "qforge/kernels/x86/x86_kernels.h"

namespace qforge {

namespace {

// Bytes of one row-major block, and how its fields sit inside it.
struct BlockShape {
  size_t block_bytes;
  size_t code_offset;  // where the codes start in a row-major block
  int code_vectors;    // 32-byte code vectors per interleaved group block
  bool has_min;
  bool has_fifth_bit;  // Q5_0/Q5_1: qh, 4 bytes after the scale (and minimum)
  int offset;          // what the unsigned code exceeds the value by (0 with a minimum or for Q8_0)

  size_t header_bytes() const { return (has_min ? 32 : 16) + (has_fifth_bit ? 32 : 0); }
};

BlockShape ShapeOf(GgmlType type) {
  switch (type) {
    case GgmlType::Q4_0: return {sizeof(BlockQ4_0), offsetof(BlockQ4_0, qs), 4, false, false, 8};
    case GgmlType::Q4_1: return {sizeof(BlockQ4_1), offsetof(BlockQ4_1, qs), 4, true, false, 0};
    case GgmlType::Q5_0: return {sizeof(BlockQ5_0), offsetof(BlockQ5_0, qs), 4, false, true, 16};
    case GgmlType::Q5_1: return {sizeof(BlockQ5_1), offsetof(BlockQ5_1, qs), 4, true, true, 0};
    default: return {sizeof(BlockQ8_0), offsetof(BlockQ8_0, qs), 8, false, false, 0};
  }
}

// The fifth bits regrouped so that code byte i of row k and step s finds its two bits in byte
// 4k + i: bit s for value 4s + i (low nibble), bit 4 + s for value 16 + 4s + i (high nibble).
void InterleaveFifthBits(const uint8_t* qh, uint8_t* out) {
  uint32_t bits;
  std::memcpy(&bits, qh, 4);
  for (int i = 0; i < 4; ++i) {
    uint8_t byte = 0;
    for (int s = 0; s < 4; ++s) {
      byte |= static_cast<uint8_t>(((bits >> (4 * s + i)) & 1) << s);
      byte |= static_cast<uint8_t>(((bits >> (16 + 4 * s + i)) & 1) << (4 + s));
    }
    out[i] = byte;
  }
}

}  // namespace

bool CanInterleave(GgmlType type, int64_t n_in, int64_t n_out) {
  const bool format = type == GgmlType::Q4_0 || type == GgmlType::Q4_1 || type == GgmlType::Q5_0 ||
                      type == GgmlType::Q5_1 || type == GgmlType::Q8_0;
  return format && n_in > 0 && n_in % kQK == 0 && n_out > 0 && n_out % kInterleaveRows == 0;
}

size_t InterleavedGroupBytes(GgmlType type, int64_t n_in) {
  return ShapeOf(type).block_bytes * kInterleaveRows * static_cast<size_t>(n_in / kQK);
}

void InterleaveRows(const WeightMatrix& w, uint8_t* out) {
  const BlockShape shape = ShapeOf(w.type);
  const int64_t nb = w.n_in / kQK;
  for (int64_t g = 0; g < w.n_out / kInterleaveRows; ++g) {
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* dst = out + (g * nb + b) * kInterleaveRows * shape.block_bytes;
      uint8_t* fifth = dst + (shape.has_min ? 32 : 16);
      uint8_t* codes = dst + shape.header_bytes();
      for (int k = 0; k < kInterleaveRows; ++k) {
        const uint8_t* block = w.Row(g * kInterleaveRows + k) + b * shape.block_bytes;
        std::memcpy(dst + 2 * k, block, 2);                              // d
        if (shape.has_min) std::memcpy(dst + 16 + 2 * k, block + 2, 2);  // m
        if (shape.has_fifth_bit) InterleaveFifthBits(block + (shape.has_min ? 4 : 2), fifth + 4 * k);
        for (int s = 0; s < shape.code_vectors; ++s) {
          std::memcpy(codes + 32 * s + 4 * k, block + shape.code_offset + 4 * s, 4);
        }
      }
    }
  }
}

void InterleavedDotReference(GgmlType type, int64_t n, const uint8_t* group, const uint8_t* activation,
                             const int16_t* block_sums, float* y) {
  const BlockShape shape = ShapeOf(type);
  const int64_t nb = n / kQK;
  float acc[kInterleaveRows] = {}, off[kInterleaveRows] = {};
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* block = group + b * kInterleaveRows * shape.block_bytes;
    const uint8_t* fifth = block + (shape.has_min ? 32 : 16);
    const uint8_t* codes = block + shape.header_bytes();
    // The activation block: Q8_1 (d, s, codes) beside the formats with a minimum, else Q8_0.
    const uint8_t* a = activation + b * (shape.has_min ? sizeof(BlockQ8_1) : sizeof(BlockQ8_0));
    uint16_t a_d, a_s = 0;
    std::memcpy(&a_d, a, 2);
    if (shape.has_min) std::memcpy(&a_s, a + 2, 2);
    const auto* y_codes = reinterpret_cast<const int8_t*>(a + (shape.has_min ? 4 : 2));
    for (int k = 0; k < kInterleaveRows; ++k) {
      int32_t dot = 0;
      for (int s = 0; s < shape.code_vectors; ++s) {
        for (int i = 0; i < 4; ++i) {
          const uint8_t byte = codes[32 * s + 4 * k + i];
          const int j = 4 * s + i;  // the value's position in the block (low nibble)
          if (type == GgmlType::Q8_0) {
            dot += static_cast<int8_t>(byte) * y_codes[j];
            continue;
          }
          int low = byte & 0x0F, high = byte >> 4;
          if (shape.has_fifth_bit) {
            const uint8_t bits = fifth[4 * k + i];
            low |= ((bits >> s) & 1) << 4;
            high |= ((bits >> (4 + s)) & 1) << 4;
          }
          dot += low * y_codes[j] + high * y_codes[j + 16];
        }
      }
      if (shape.offset != 0) dot -= shape.offset * block_sums[b];
      uint16_t d;
      std::memcpy(&d, block + 2 * k, 2);
      acc[k] = std::fma(static_cast<float>(dot), Fp16ToFp32(d) * Fp16ToFp32(a_d), acc[k]);
      if (shape.has_min) {
        uint16_t m;
        std::memcpy(&m, block + 16 + 2 * k, 2);
        off[k] = std::fma(Fp16ToFp32(m), Fp16ToFp32(a_s), off[k]);
      }
    }
  }
  for (int k = 0; k < kInterleaveRows; ++k) y[k] = shape.has_min ? acc[k] + off[k] : acc[k];
}

namespace {

template <GgmlType kType>
void ReferenceOneRow(int64_t n, const uint8_t* group, const uint8_t* activations, size_t, const int16_t* block_sums,
                     size_t, float* y, int64_t) {
  InterleavedDotReference(kType, n, group, activations, block_sums, y);
}

}  // namespace

InterleavedKernels InterleavedKernelsForIsa(GgmlType type, Isa isa) {
  if (static_cast<int>(isa) > static_cast<int>(BestIsa())) return {};
  switch (isa) {
    case Isa::kScalar:
      switch (type) {
        case GgmlType::Q4_0: return {ReferenceOneRow<GgmlType::Q4_0>, nullptr};
        case GgmlType::Q4_1: return {ReferenceOneRow<GgmlType::Q4_1>, nullptr};
        case GgmlType::Q5_0: return {ReferenceOneRow<GgmlType::Q5_0>, nullptr};
        case GgmlType::Q5_1: return {ReferenceOneRow<GgmlType::Q5_1>, nullptr};
        case GgmlType::Q8_0: return {ReferenceOneRow<GgmlType::Q8_0>, nullptr};
        default: return {};
      }
    case Isa::kAvx2:
      switch (type) {
#define QF_CASE(T) \
  case GgmlType::T: return {avx2::Interleaved##T##x1, avx2::Interleaved##T##x4};
        QF_INTERLEAVED_FORMATS(QF_CASE)
#undef QF_CASE
        default: return {};
      }
    case Isa::kAvx512:
      if (!DetectCpu().avx512_vnni) return {};  // the AVX2 kernels serve AVX-512 CPUs without VNNI
      switch (type) {
#define QF_CASE(T) \
  case GgmlType::T: return {avx512::Interleaved##T##x1, avx512::Interleaved##T##x4};
        QF_INTERLEAVED_FORMATS(QF_CASE)
#undef QF_CASE
        default: return {};
      }
  }
  return {};
}

InterleavedKernels SelectInterleavedKernels(GgmlType type) {
  for (int isa = static_cast<int>(BestIsa()); isa >= 0; --isa) {
    const InterleavedKernels k = InterleavedKernelsForIsa(type, static_cast<Isa>(isa));
    if (k.one) return k;
  }
  return {};
}

}  // namespace qforge

// On-disk block layouts of the quantized ggml types qforge computes with, byte for byte as
// llama.cpp lays them out. Half-precision fields are raw IEEE binary16 bits.
#pragma once

#include <cstdint>

namespace qforge {

inline constexpr int kQK = 32;    // elements per block of the 32-element families
inline constexpr int kQK_K = 256; // elements per k-quant super-block
inline constexpr int kKScaleSize = 12;

struct BlockQ4_0 { uint16_t d; uint8_t qs[kQK / 2]; };                  // scale + 32 nibbles
struct BlockQ4_1 { uint16_t d; uint16_t m; uint8_t qs[kQK / 2]; };      // scale, min + nibbles
struct BlockQ5_0 { uint16_t d; uint8_t qh[4]; uint8_t qs[kQK / 2]; };   // + 5th bits
struct BlockQ5_1 { uint16_t d; uint16_t m; uint8_t qh[4]; uint8_t qs[kQK / 2]; };
struct BlockQ8_0 { uint16_t d; int8_t qs[kQK]; };
struct BlockQ8_1 { uint16_t d; uint16_t s; int8_t qs[kQK]; };           // s = d * sum(qs)
struct BlockIQ4_NL { uint16_t d; uint8_t qs[kQK / 2]; };               // non-linear 4-bit grid

struct BlockQ2_K {
  uint8_t scales[kQK_K / 16];  // 4-bit scale and 4-bit min per 16 values
  uint8_t qs[kQK_K / 4];       // 2-bit quants
  uint16_t d;                  // super-block scale for scales
  uint16_t dmin;               // super-block scale for mins
};
struct BlockQ3_K {
  uint8_t hmask[kQK_K / 8];  // high bit of each 3-bit quant
  uint8_t qs[kQK_K / 4];     // low 2 bits
  uint8_t scales[12];        // 16 6-bit scales
  uint16_t d;
};
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleSize];  // 8 6-bit scales and 8 6-bit mins
  uint8_t qs[kQK_K / 2];
};
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleSize];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};
struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];      // low 4 bits
  uint8_t qh[kQK_K / 4];      // high 2 bits
  int8_t scales[kQK_K / 16];  // 8-bit scales per 16 values
  uint16_t d;
};
struct BlockQ8_K {
  float d;                      // full float scale (activations only)
  int8_t qs[kQK_K];
  int16_t bsums[kQK_K / 16];    // sums of each 16 quants
};
struct BlockIQ4_XS {
  uint16_t d;
  uint16_t scales_h;            // high 2 bits of the 8 6-bit scales
  uint8_t scales_l[kQK_K / 64]; // low 4 bits
  uint8_t qs[kQK_K / 2];
};

static_assert(sizeof(BlockQ4_0) == 18, "Q4_0 block is 18 bytes on disk");
static_assert(sizeof(BlockQ4_1) == 20, "Q4_1 block is 20 bytes on disk");
static_assert(sizeof(BlockQ5_0) == 22, "Q5_0 block is 22 bytes on disk");
static_assert(sizeof(BlockQ5_1) == 24, "Q5_1 block is 24 bytes on disk");
static_assert(sizeof(BlockQ8_0) == 34, "Q8_0 block is 34 bytes on disk");
static_assert(sizeof(BlockQ8_1) == 36, "Q8_1 block is 36 bytes on disk");
static_assert(sizeof(BlockIQ4_NL) == 18, "IQ4_NL block is 18 bytes on disk");
static_assert(sizeof(BlockQ2_K) == 84, "Q2_K block is 84 bytes on disk");
static_assert(sizeof(BlockQ3_K) == 110, "Q3_K block is 110 bytes on disk");
static_assert(sizeof(BlockQ4_K) == 144, "Q4_K block is 144 bytes on disk");
static_assert(sizeof(BlockQ5_K) == 176, "Q5_K block is 176 bytes on disk");
static_assert(sizeof(BlockQ6_K) == 210, "Q6_K block is 210 bytes on disk");
static_assert(sizeof(BlockQ8_K) == 292, "Q8_K block is 292 bytes");
static_assert(sizeof(BlockIQ4_XS) == 136, "IQ4_XS block is 136 bytes on disk");

}  // namespace qforge

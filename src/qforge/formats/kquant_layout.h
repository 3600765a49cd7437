// Where each value's code and each sub-block's scale live inside the k-quant blocks (the bit
// packing of llama.cpp's layouts), as small accessors shared by dequantization, quantization
// and the dot products. Value index e runs 0..255 in the order dequantization emits.
#pragma once

#include <cstdint>

namespace qforge {

// Q2_K and the low bits of Q3_K: value e = 128 h + 32 k + l sits in bits 2k..2k+1 of byte
// 32 h + l.
inline int Q2Code(const uint8_t* qs, int e) {
  const int h = e / 128, k = (e % 128) / 32, l = e % 32;
  return (qs[32 * h + l] >> (2 * k)) & 3;
}
inline void SetQ2Code(uint8_t* qs, int e, int q) {  // qs must start zeroed
  const int h = e / 128, k = (e % 128) / 32, l = e % 32;
  qs[32 * h + l] |= static_cast<uint8_t>((q & 3) << (2 * k));
}

// Q3_K: code c in [-4, 3] stored as c + 4; bit 2 lives in hmask[l] at bit 4h + k.
inline int Q3Code(const uint8_t* qs, const uint8_t* hmask, int e) {
  const int h = e / 128, k = (e % 128) / 32, l = e % 32;
  const int high = (hmask[l] >> (4 * h + k)) & 1;
  return Q2Code(qs, e) + (high ? 0 : -4);
}
inline void SetQ3Code(uint8_t* qs, uint8_t* hmask, int e, int c) {  // both start zeroed
  const int h = e / 128, k = (e % 128) / 32, l = e % 32;
  const int u = c + 4;
  SetQ2Code(qs, e, u & 3);
  if (u & 4) hmask[l] |= static_cast<uint8_t>(1 << (4 * h + k));
}
// Sixteen 6-bit scales (biased by 32): low nibble of scale j in byte j % 8 (high half for
// j >= 8), top two bits in byte 8 + j % 4 at bit 2 (j / 4).
inline int Q3Scale(const uint8_t* scales, int j) {
  const int low = (scales[j % 8] >> (j < 8 ? 0 : 4)) & 0x0F;
  const int high = (scales[8 + j % 4] >> (2 * (j / 4))) & 3;
  return low | (high << 4);
}
inline void SetQ3Scale(uint8_t* scales, int j, int s) {  // scales must start zeroed
  scales[j % 8] |= static_cast<uint8_t>((s & 0x0F) << (j < 8 ? 0 : 4));
  scales[8 + j % 4] |= static_cast<uint8_t>(((s >> 4) & 3) << (2 * (j / 4)));
}

// Q4_K/Q5_K: eight 6-bit scales and minimums in 12 bytes. Entries 0-3: low 6 bits of bytes
// 0-3 (scale) and 4-7 (minimum). Entries 4-7: low nibbles in bytes 8-11 (scale in the low
// half, minimum in the high half), top two bits in the spare bits 6-7 of bytes 0-3 (scale)
// and 4-7 (minimum).
inline void UnpackScaleMin6(const uint8_t* s, int j, int* scale, int* min) {
  if (j < 4) {
    *scale = s[j] & 63;
    *min = s[j + 4] & 63;
  } else {
    *scale = (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4);
    *min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}
inline void PackScaleMin6(const int* scale, const int* min, uint8_t* s) {
  for (int j = 0; j < 4; ++j) {
    s[j] = static_cast<uint8_t>(scale[j] & 63);
    s[j + 4] = static_cast<uint8_t>(min[j] & 63);
  }
  for (int j = 4; j < 8; ++j) {
    s[j + 4] = static_cast<uint8_t>((scale[j] & 0x0F) | ((min[j] & 0x0F) << 4));
    s[j - 4] |= static_cast<uint8_t>(((scale[j] >> 4) & 3) << 6);
    s[j] |= static_cast<uint8_t>(((min[j] >> 4) & 3) << 6);
  }
}

// Q4_K: value e = 64 c + 32 h + l is nibble h of byte 32 c + l.
inline int Q4KCode(const uint8_t* qs, int e) {
  const int c = e / 64, h = (e % 64) / 32, l = e % 32;
  return (qs[32 * c + l] >> (4 * h)) & 0x0F;
}
inline void SetQ4KCode(uint8_t* qs, int e, int q) {  // writes whole bytes: low half first
  const int c = e / 64, h = (e % 64) / 32, l = e % 32;
  uint8_t& byte = qs[32 * c + l];
  byte = static_cast<uint8_t>(h ? (byte & 0x0F) | ((q & 0x0F) << 4) : (byte & 0xF0) | (q & 0x0F));
}
// Q5_K: the fifth bit of value e = 64 c + 32 h + l is bit 2c + h of qh[l].
inline int Q5KCode(const uint8_t* qs, const uint8_t* qh, int e) {
  const int c = e / 64, h = (e % 64) / 32, l = e % 32;
  return Q4KCode(qs, e) | (((qh[l] >> (2 * c + h)) & 1) << 4);
}
inline void SetQ5KCode(uint8_t* qs, uint8_t* qh, int e, int q) {  // qh must start zeroed
  const int c = e / 64, h = (e % 64) / 32, l = e % 32;
  SetQ4KCode(qs, e, q);
  qh[l] |= static_cast<uint8_t>(((q >> 4) & 1) << (2 * c + h));
}

// Q6_K: value e = 128 h + 32 k + l; stored as code + 32: low nibble in ql[64 h + 32 (k % 2) + l]
// (high half for k >= 2), top two bits in qh[32 h + l] at bit 2k.
inline int Q6Code(const uint8_t* ql, const uint8_t* qh, int e) {
  const int h = e / 128, k = (e % 128) / 32, l = e % 32;
  const int low = (ql[64 * h + 32 * (k % 2) + l] >> (k >= 2 ? 4 : 0)) & 0x0F;
  const int high = (qh[32 * h + l] >> (2 * k)) & 3;
  return (low | (high << 4)) - 32;
}
inline void SetQ6Code(uint8_t* ql, uint8_t* qh, int e, int c) {  // both start zeroed
  const int h = e / 128, k = (e % 128) / 32, l = e % 32;
  const int u = c + 32;
  ql[64 * h + 32 * (k % 2) + l] |= static_cast<uint8_t>((u & 0x0F) << (k >= 2 ? 4 : 0));
  qh[32 * h + l] |= static_cast<uint8_t>(((u >> 4) & 3) << (2 * k));
}

}  // namespace qforge

// Activation rows quantized to Q8_0, Q8_1 and Q8_K with AVX2: the same arithmetic as the
// reference quantizers in formats/ (q_legacy.cpp, q_kquants.cpp), operation for operation, so
// the bytes are identical (tested): the largest magnitude is exact, the scales are the same
// scalar divisions, each value is one float multiply, and VCVTPS2DQ rounds half to even as
// nearbyint does in the default rounding mode.
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "qforge/core/fp16.h"
#include "qforge/formats/blocks.h"
#include "qforge/kernels/x86/x86_kernels.h"

namespace qforge::avx2 {

namespace {

const __m256 kAbsMask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));

float MaxAbs(const float* x, int n) {
  __m256 m = _mm256_setzero_ps();
  for (int i = 0; i < n; i += 8) m = _mm256_max_ps(m, _mm256_and_ps(_mm256_loadu_ps(x + i), kAbsMask));
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// 32 values times `scale`, rounded half to even, at most 127, as bytes; returns their sum.
int RoundToBytes32(const float* x, float scale, int8_t* out) {
  const __m256 s = _mm256_set1_ps(scale);
  const __m256i max = _mm256_set1_epi32(127);
  __m256i q[4];
  for (int k = 0; k < 4; ++k) {
    q[k] = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), s)), max);
  }
  // packs interleave 128-bit lanes; the permute restores element order.
  const __m256i w01 = _mm256_packs_epi32(q[0], q[1]), w23 = _mm256_packs_epi32(q[2], q[3]);
  const __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(w01, w23), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), bytes);
  const __m256i sums = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
  __m128i t = _mm_add_epi32(_mm256_castsi256_si128(sums), _mm256_extracti128_si256(sums, 1));
  t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4e));
  t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xb1));
  return _mm_cvtsi128_si32(t);
}

// QuantizeBlockQ8 (q_legacy.cpp): scale amax / 127, inverse 127 / amax. Returns the scale.
float QuantizeBlockQ8(const float* x, int8_t* qs, uint16_t* d_out, int* sum) {
  const float amax = MaxAbs(x, kQK);
  const float d = amax / 127.0f;
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  *sum = RoundToBytes32(x, id, qs);
  *d_out = Fp32ToFp16(d);
  return d;
}

}  // namespace

void QuantizeRowQ8_0(const float* x, void* dst, int64_t n, const float*) {
  auto* b = static_cast<BlockQ8_0*>(dst);
  int sum;
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) QuantizeBlockQ8(x, b[i].qs, &b[i].d, &sum);
}

void QuantizeRowQ8_0WithSums(const float* x, void* dst, int64_t n, int16_t* sums) {
  auto* b = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    int sum;
    QuantizeBlockQ8(x, b[i].qs, &b[i].d, &sum);
    sums[i] = static_cast<int16_t>(sum);  // at most 32 * 127 in magnitude
  }
}

void QuantizeRowQ8_1(const float* x, void* dst, int64_t n, const float*) {
  auto* b = static_cast<BlockQ8_1*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    int sum;
    const float d = QuantizeBlockQ8(x, b[i].qs, &b[i].d, &sum);
    b[i].s = Fp32ToFp16(d * static_cast<float>(sum));
  }
}

void QuantizeRowQ8_K(const float* x, void* dst, int64_t n, const float*) {
  auto* b = static_cast<BlockQ8_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    const float amax = MaxAbs(x, kQK_K);
    if (amax == 0.0f) {
      std::memset(&b[i], 0, sizeof(BlockQ8_K));
      continue;
    }
    // The signed value of the first element of largest magnitude, as the reference picks it.
    int first = 0;
    while (std::fabs(x[first]) != amax) ++first;
    const float iscale = -127.0f / x[first];
    for (int j = 0; j < kQK_K; j += 32) RoundToBytes32(x + j, iscale, b[i].qs + j);
    for (int j = 0; j < kQK_K / 16; ++j) {
      const __m256i v = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b[i].qs + 16 * j)));
      __m128i t = _mm_add_epi16(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
      t = _mm_add_epi16(t, _mm_shuffle_epi32(t, 0x4e));
      t = _mm_add_epi16(t, _mm_shuffle_epi32(t, 0xb1));
      t = _mm_add_epi16(t, _mm_shufflelo_epi16(t, 0xb1));
      b[i].bsums[j] = static_cast<int16_t>(_mm_extract_epi16(t, 0));
    }
    b[i].d = 1.0f / iscale;
  }
}

}  // namespace qforge::avx2

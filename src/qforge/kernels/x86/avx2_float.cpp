// AVX2 + FMA + F16C kernels for float, half and bfloat16 rows.
#include <immintrin.h>

#include <type_traits>

#include "qforge/core/fp16.h"
#include "qforge/kernels/x86/avx2_vector.h"
#include "qforge/kernels/x86/x86_kernels.h"

namespace qforge::avx2 {

namespace {
inline __m256 LoadBf16x8(const uint16_t* p) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}
}  // namespace

float VecDotF32(int64_t n, const void* wp, const void* ap) {
  const auto* w = static_cast<const float*>(wp);
  const auto* a = static_cast<const float*>(ap);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(a + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 8), _mm256_loadu_ps(a + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(a + i), acc0);
  float sum = HorizontalSum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += w[i] * a[i];
  return sum;
}

namespace {

// F16 rows as a template over R activation rows `stride` bytes apart, like the integer
// kernels: each weight vector is converted once for all R rows, and row r's operations are the
// same whatever R is (two accumulators, then the scalar tail). The activations are F16, or
// (kWide) the same F16 values already widened to float, which is exact: either way every row
// gets VecDotF16's bits.
template <int R, bool kWide>
void RowsF16(int64_t n, const void* wp, const void* ap, size_t stride, float* out) {
  using Act = std::conditional_t<kWide, float, uint16_t>;
  const auto load = [](const Act* p) {
    if constexpr (kWide) {
      return _mm256_loadu_ps(p);
    } else {
      return LoadHalf8(p);
    }
  };
  const auto value = [](Act v) {
    if constexpr (kWide) {
      return v;
    } else {
      return Fp16ToFp32(v);
    }
  };
  const auto* w = static_cast<const uint16_t*>(wp);
  const Act* a[R];
  __m256 acc0[R], acc1[R];
  for (int r = 0; r < R; ++r) {
    a[r] = reinterpret_cast<const Act*>(static_cast<const uint8_t*>(ap) + r * stride);
    acc0[r] = acc1[r] = _mm256_setzero_ps();
  }
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 w0 = LoadHalf8(w + i), w1 = LoadHalf8(w + i + 8);
    for (int r = 0; r < R; ++r) {
      acc0[r] = _mm256_fmadd_ps(w0, load(a[r] + i), acc0[r]);
      acc1[r] = _mm256_fmadd_ps(w1, load(a[r] + i + 8), acc1[r]);
    }
  }
  for (; i + 8 <= n; i += 8) {
    const __m256 w0 = LoadHalf8(w + i);
    for (int r = 0; r < R; ++r) acc0[r] = _mm256_fmadd_ps(w0, load(a[r] + i), acc0[r]);
  }
  for (int r = 0; r < R; ++r) {
    float sum = HorizontalSum(_mm256_add_ps(acc0[r], acc1[r]));
    for (int64_t j = i; j < n; ++j) sum += Fp16ToFp32(w[j]) * value(a[r][j]);
    out[r] = sum;
  }
}

}  // namespace

float VecDotF16(int64_t n, const void* wp, const void* ap) {
  float result;
  RowsF16<1, false>(n, wp, ap, 0, &result);
  return result;
}

void VecDot4F16(int64_t n, const void* wp, const void* ap, size_t stride, float* out) {
  RowsF16<4, false>(n, wp, ap, stride, out);
}

float VecDotF16Widened(int64_t n, const void* wp, const void* ap) {
  float result;
  RowsF16<1, true>(n, wp, ap, 0, &result);
  return result;
}

void VecDot4F16Widened(int64_t n, const void* wp, const void* ap, size_t stride, float* out) {
  RowsF16<4, true>(n, wp, ap, stride, out);
}

float VecDotBF16(int64_t n, const void* wp, const void* ap) {
  const auto* w = static_cast<const uint16_t*>(wp);
  const auto* a = static_cast<const uint16_t*>(ap);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(LoadBf16x8(w + i), LoadBf16x8(a + i), acc0);
    acc1 = _mm256_fmadd_ps(LoadBf16x8(w + i + 8), LoadBf16x8(a + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(LoadBf16x8(w + i), LoadBf16x8(a + i), acc0);
  float sum = HorizontalSum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += Bf16ToFp32(w[i]) * Bf16ToFp32(a[i]);
  return sum;
}

void ConvertF32ToF16(const float* x, uint16_t* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), h);
  }
  for (; i < n; ++i) out[i] = Fp32ToFp16(x[i]);
}

}  // namespace qforge::avx2

#include "qforge/quant/two_level_fit.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "qforge/core/fp16.h"
#include "qforge/formats/iq4_grid.h"
#include "qforge/quant/fit.h"

namespace qforge::quant_internal {

namespace {

constexpr int kRefineIterations = 4;
// Sub-block scales are searched exactly within this window around the scale that maps the
// largest |x| to the end of the grid (see quantize_legacy.cpp); the refinement that follows
// moves them further where that helps.
constexpr SweepWindow kSubBlockWindow{0.6f, 1.6f};

int RoundClamp(float v, int lo, int hi) {
  return std::clamp(static_cast<int>(std::nearbyint(v)), lo, hi);
}

// The code whose value is nearest to t (grid) or the clamped rounding of t (linear).
int NearestCode(const SymmetricSpec& s, float t) {
  if (s.grid == nullptr) return RoundClamp(t, s.q_lo, s.q_hi);
  if (s.grid == kIq4Grid) return NearestGridIndex(t);
  int best = 0;
  for (int k = 1; k < 16; ++k) {
    if (std::fabs(s.grid[k] - t) < std::fabs(s.grid[best] - t)) best = k;
  }
  return best;
}
float CodeValue(const SymmetricSpec& s, int code) {
  return s.grid ? static_cast<float>(s.grid[code]) : static_cast<float>(code);
}

// State of a symmetric fit with the errors of each step tracked.
struct SymState {
  float D;
  int L[16];
  int8_t codes[256];
};

double SymError(const float* x, const float* w, const SymmetricSpec& s, const SymState& st) {
  double e = 0.0;
  for (int j = 0; j < s.n_sub; ++j) {
    const float scale = st.D * st.L[j];
    for (int i = j * s.sub_size; i < (j + 1) * s.sub_size; ++i) {
      const double diff = x[i] - scale * CodeValue(s, st.codes[i]);
      e += w[i] * diff * diff;
    }
  }
  return e;
}

void SymRoundCodes(const float* x, const SymmetricSpec& s, SymState& st) {
  for (int j = 0; j < s.n_sub; ++j) {
    const float scale = st.D * st.L[j];
    const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
    for (int i = j * s.sub_size; i < (j + 1) * s.sub_size; ++i) {
      st.codes[i] = static_cast<int8_t>(NearestCode(s, x[i] * inv));
    }
  }
}

// With D fixed, each sub-block's error depends only on its own integer scale: try the
// neighbours of the current one, each with its codes re-rounded, and keep the best. Snapping
// the real-valued scale to the nearest multiple of D is not always best, since the codes
// change with it; this is where small grids (Q3_K's 8 levels) gain most.
void PickSubScales(const float* x, const float* w, const SymmetricSpec& s, SymState& st) {
  constexpr int kReach = 2;
  for (int j = 0; j < s.n_sub; ++j) {
    const int first = j * s.sub_size;
    int best_l = st.L[j];
    double best_e = INFINITY;
    int8_t best_codes[256];
    for (int l = std::max(s.l_lo, st.L[j] - kReach); l <= std::min(s.l_hi, st.L[j] + kReach); ++l) {
      const float scale = st.D * l;
      const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
      int8_t codes[256];
      double e = 0.0;
      for (int i = 0; i < s.sub_size; ++i) {
        codes[i] = static_cast<int8_t>(NearestCode(s, x[first + i] * inv));
        const double diff = x[first + i] - scale * CodeValue(s, codes[i]);
        e += w[first + i] * diff * diff;
      }
      if (e < best_e) {
        best_e = e;
        best_l = l;
        std::copy(codes, codes + s.sub_size, best_codes);
      }
    }
    st.L[j] = best_l;
    std::copy(best_codes, best_codes + s.sub_size, st.codes + first);
  }
}

}  // namespace

SymmetricResult FitSymmetricSuperBlock(const float* x, const float* w, const SymmetricSpec& spec) {
  const int n = spec.n_sub * spec.sub_size;
  float sub_scale[16], sub_weight[16];
  SymState st{};
  // 1. Each sub-block's best real scale and its codes.
  for (int j = 0; j < spec.n_sub; ++j) {
    const std::span<const float> xs(x + j * spec.sub_size, spec.sub_size);
    const std::span<const float> ws(w + j * spec.sub_size, spec.sub_size);
    int8_t* codes = st.codes + j * spec.sub_size;
    ScaleFit fit;
    if (spec.grid) {
      uint8_t idx[256];
      fit = FitScaleOnGrid(xs, ws, {spec.grid, 16}, idx, kSubBlockWindow);
      for (int i = 0; i < spec.sub_size; ++i) codes[i] = static_cast<int8_t>(idx[i]);
    } else {
      fit = FitScale(xs, ws, spec.q_lo, spec.q_hi, codes, kSubBlockWindow);
    }
    sub_scale[j] = fit.d;
    // A scale error e costs about e^2 * sum w v^2 in this sub-block.
    double wv2 = 0.0;
    for (int i = 0; i < spec.sub_size; ++i) {
      const float v = CodeValue(spec, codes[i]);
      wv2 += ws[i] * v * v;
    }
    sub_weight[j] = static_cast<float>(wv2);
  }
  // 2. The super-block scale: an exact weighted fit of the sub-block scales to the integer grid.
  int8_t levels[16];
  const ScaleFit super = FitScale({sub_scale, static_cast<size_t>(spec.n_sub)},
                                  {sub_weight, static_cast<size_t>(spec.n_sub)}, spec.l_lo, spec.l_hi,
                                  levels, SweepWindow{0.25f, 1.5f});
  SymmetricResult best{};
  best.error = INFINITY;
  auto keep_if_better = [&](const SymState& s) {
    const double e = SymError(x, w, spec, s);
    if (e < best.error) {
      best.error = e;
      best.d16 = Fp32ToFp16(s.D);
      std::copy(s.L, s.L + spec.n_sub, best.L);
      std::copy(s.codes, s.codes + n, best.codes);
    }
  };
  st.D = Fp16ToFp32(Fp32ToFp16(super.d));
  for (int j = 0; j < spec.n_sub; ++j) {
    st.L[j] = st.D != 0.0f ? RoundClamp(sub_scale[j] / st.D, spec.l_lo, spec.l_hi) : 0;
  }
  SymRoundCodes(x, spec, st);
  keep_if_better(st);
  PickSubScales(x, w, spec, st);
  keep_if_better(st);
  // 3. Alternate: codes fixed -> best integer sub-scales and super-scale -> codes re-rounded.
  for (int iter = 0; iter < kRefineIterations && st.D != 0.0f; ++iter) {
    double num = 0.0, den = 0.0;
    for (int j = 0; j < spec.n_sub; ++j) {
      double a = 0.0, b = 0.0;
      for (int i = j * spec.sub_size; i < (j + 1) * spec.sub_size; ++i) {
        const float v = CodeValue(spec, st.codes[i]);
        a += w[i] * x[i] * v;
        b += w[i] * v * v;
      }
      st.L[j] = b > 0.0 ? RoundClamp(static_cast<float>(a / b) / st.D, spec.l_lo, spec.l_hi) : 0;
      num += a * st.L[j];
      den += b * st.L[j] * st.L[j];
    }
    if (den > 0.0) st.D = Fp16ToFp32(Fp32ToFp16(static_cast<float>(num / den)));
    SymRoundCodes(x, spec, st);
    PickSubScales(x, w, spec, st);
    keep_if_better(st);
  }
  return best;
}

namespace {

struct AffState {
  float D, Dmin;
  int L[16], M[16];
  uint8_t codes[256];
};

double AffError(const float* x, const float* w, const AffineSpec& s, const AffState& st) {
  double e = 0.0;
  for (int j = 0; j < s.n_sub; ++j) {
    const float scale = st.D * st.L[j], offset = st.Dmin * st.M[j];
    for (int i = j * s.sub_size; i < (j + 1) * s.sub_size; ++i) {
      const double diff = x[i] - (scale * st.codes[i] - offset);
      e += w[i] * diff * diff;
    }
  }
  return e;
}

void AffRoundCodes(const float* x, const AffineSpec& s, AffState& st) {
  for (int j = 0; j < s.n_sub; ++j) {
    const float scale = st.D * st.L[j], offset = st.Dmin * st.M[j];
    const float inv = scale > 0.0f ? 1.0f / scale : 0.0f;
    for (int i = j * s.sub_size; i < (j + 1) * s.sub_size; ++i) {
      st.codes[i] = static_cast<uint8_t>(RoundClamp((x[i] + offset) * inv, 0, s.q_max));
    }
  }
}

// The affine counterpart of PickSubScales: with D and Dmin fixed, try each sub-block's scale
// and minimum one step either side of the current pair, codes re-rounded, keep the best.
void PickSubScalesAffine(const float* x, const float* w, const AffineSpec& s, AffState& st) {
  for (int j = 0; j < s.n_sub; ++j) {
    const int first = j * s.sub_size;
    int best_l = st.L[j], best_m = st.M[j];
    double best_e = INFINITY;
    uint8_t best_codes[256];
    for (int l = std::max(0, st.L[j] - 1); l <= std::min(s.l_max, st.L[j] + 1); ++l) {
      for (int m = std::max(0, st.M[j] - 1); m <= std::min(s.m_max, st.M[j] + 1); ++m) {
        const float scale = st.D * l, offset = st.Dmin * m;
        const float inv = scale > 0.0f ? 1.0f / scale : 0.0f;
        uint8_t codes[256];
        double e = 0.0;
        for (int i = 0; i < s.sub_size; ++i) {
          codes[i] = static_cast<uint8_t>(RoundClamp((x[first + i] + offset) * inv, 0, s.q_max));
          const double diff = x[first + i] - (scale * codes[i] - offset);
          e += w[first + i] * diff * diff;
        }
        if (e < best_e) {
          best_e = e;
          best_l = l;
          best_m = m;
          std::copy(codes, codes + s.sub_size, best_codes);
        }
      }
    }
    st.L[j] = best_l;
    st.M[j] = best_m;
    std::copy(best_codes, best_codes + s.sub_size, st.codes + first);
  }
}

}  // namespace

AffineResult FitAffineSuperBlock(const float* x, const float* w, const AffineSpec& spec) {
  const int n = spec.n_sub * spec.sub_size;
  float sub_scale[16], sub_min[16], scale_weight[16], min_weight[16];
  AffState st{};
  for (int j = 0; j < spec.n_sub; ++j) {
    const std::span<const float> xs(x + j * spec.sub_size, spec.sub_size);
    const std::span<const float> ws(w + j * spec.sub_size, spec.sub_size);
    const AffineFit fit = FitAffine(xs, ws, spec.q_max, true, st.codes + j * spec.sub_size, 12);
    sub_scale[j] = fit.d;
    sub_min[j] = -fit.b;
    double wq2 = 0.0, wsum = 0.0;
    for (int i = 0; i < spec.sub_size; ++i) {
      const float q = st.codes[j * spec.sub_size + i];
      wq2 += ws[i] * q * q;
      wsum += ws[i];
    }
    scale_weight[j] = static_cast<float>(wq2);
    min_weight[j] = static_cast<float>(wsum);
  }
  int8_t levels[16];
  const size_t ns = static_cast<size_t>(spec.n_sub);
  const ScaleFit fs = FitScale({sub_scale, ns}, {scale_weight, ns}, 0, spec.l_max, levels, SweepWindow{0.25f, 1.5f});
  const ScaleFit fm = FitScale({sub_min, ns}, {min_weight, ns}, 0, spec.m_max, levels, SweepWindow{0.25f, 1.5f});
  AffineResult best{};
  best.error = INFINITY;
  auto keep_if_better = [&](const AffState& s) {
    const double e = AffError(x, w, spec, s);
    if (e < best.error) {
      best.error = e;
      best.d16 = Fp32ToFp16(s.D);
      best.dmin16 = Fp32ToFp16(s.Dmin);
      std::copy(s.L, s.L + spec.n_sub, best.L);
      std::copy(s.M, s.M + spec.n_sub, best.M);
      std::copy(s.codes, s.codes + n, best.codes);
    }
  };
  st.D = Fp16ToFp32(Fp32ToFp16(std::max(0.0f, fs.d)));
  st.Dmin = Fp16ToFp32(Fp32ToFp16(std::max(0.0f, fm.d)));
  for (int j = 0; j < spec.n_sub; ++j) {
    st.L[j] = st.D > 0.0f ? RoundClamp(sub_scale[j] / st.D, 0, spec.l_max) : 0;
    st.M[j] = st.Dmin > 0.0f ? RoundClamp(sub_min[j] / st.Dmin, 0, spec.m_max) : 0;
  }
  AffRoundCodes(x, spec, st);
  keep_if_better(st);
  PickSubScalesAffine(x, w, spec, st);
  keep_if_better(st);
  for (int iter = 0; iter < kRefineIterations; ++iter) {
    // Per sub-block least-squares scale and minimum for the current codes (minimum >= 0),
    // requantized to the integer grids.
    for (int j = 0; j < spec.n_sub; ++j) {
      double sw = 0, sq = 0, sqq = 0, sx = 0, sxq = 0;
      for (int i = j * spec.sub_size; i < (j + 1) * spec.sub_size; ++i) {
        const double q = st.codes[i];
        sw += w[i];
        sq += w[i] * q;
        sqq += w[i] * q * q;
        sx += w[i] * x[i];
        sxq += w[i] * x[i] * q;
      }
      const double det = sw * sqq - sq * sq;
      double d = 0.0, m = 0.0;  // x ~ d q - m
      if (det > 0.0) {
        d = (sw * sxq - sq * sx) / det;
        m = -(sqq * sx - sq * sxq) / det;
        if (m < 0.0) {
          m = 0.0;
          d = sxq / sqq;
        }
      }
      st.L[j] = st.D > 0.0f ? RoundClamp(static_cast<float>(d) / st.D, 0, spec.l_max) : 0;
      st.M[j] = st.Dmin > 0.0f ? RoundClamp(static_cast<float>(m) / st.Dmin, 0, spec.m_max) : 0;
    }
    // Joint least squares for the two super-block scales given integers and codes:
    // x ~ D * (L_j q) - Dmin * M_j.
    double a11 = 0, a12 = 0, a22 = 0, r1 = 0, r2 = 0;
    for (int j = 0; j < spec.n_sub; ++j) {
      for (int i = j * spec.sub_size; i < (j + 1) * spec.sub_size; ++i) {
        const double u = static_cast<double>(st.L[j]) * st.codes[i];
        const double v = -static_cast<double>(st.M[j]);
        a11 += w[i] * u * u;
        a12 += w[i] * u * v;
        a22 += w[i] * v * v;
        r1 += w[i] * u * x[i];
        r2 += w[i] * v * x[i];
      }
    }
    const double det = a11 * a22 - a12 * a12;
    if (det > 0.0) {
      st.D = Fp16ToFp32(Fp32ToFp16(static_cast<float>(std::max(0.0, (r1 * a22 - r2 * a12) / det))));
      st.Dmin = Fp16ToFp32(Fp32ToFp16(static_cast<float>(std::max(0.0, (a11 * r2 - a12 * r1) / det))));
    } else if (a11 > 0.0) {
      st.D = Fp16ToFp32(Fp32ToFp16(static_cast<float>(std::max(0.0, r1 / a11))));
    }
    AffRoundCodes(x, spec, st);
    PickSubScalesAffine(x, w, spec, st);
    keep_if_better(st);
  }
  return best;
}

}  // namespace qforge::quant_internal

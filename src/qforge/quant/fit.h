// Fitting one block of weights to an integer grid, minimizing the importance-weighted squared
// error sum_i w_i (x_i - y_i)^2. These are the building blocks every format's quantizer uses.
#pragma once

#include <cstdint>
#include <limits>
#include <span>

namespace qforge {

// x ~ d * q with integer q in [q_lo, q_hi] (q_lo <= 0 < q_hi) and any real d (both signs are
// tried, which matters for asymmetric ranges such as Q4_0's [-8, 7]; with q_lo = 0 only d > 0,
// for fitting non-negative values such as sub-block scales).
//
// Exact: for s = 1/d the rounded codes q_i(s) = clamp(round(s x_i)) change only at finitely
// many s, and for fixed codes the best d is a closed-form least-squares value. Sweeping s over
// those events while keeping the sums A = sum w x q and B = sum w q^2 up to date visits every
// code vector that any d can produce, and the global optimum is one of them, since at the
// optimum each code is the rounding of x_i / d (ties included: values whose events coincide are
// tried in every combination). `window` can restrict the sweep to s in [lo, hi] x
// (q_hi / max|x|), which bounds the work for wide grids (Q8).
struct ScaleFit {
  float d = 0.0f;
  double error = 0.0;
};
struct SweepWindow {  // the default covers every scale: the fit is exact
  float lo = 0.0f;
  float hi = std::numeric_limits<float>::infinity();
};
ScaleFit FitScale(std::span<const float> x, std::span<const float> w, int q_lo, int q_hi,
                  int8_t* q, SweepWindow window = {});

// The same for a non-uniform grid: x ~ d * grid[q], q an index into the sorted `grid`
// (IQ4_NL's 16 values). Exact by the same event sweep over the midpoints between grid values.
ScaleFit FitScaleOnGrid(std::span<const float> x, std::span<const float> w,
                        std::span<const int8_t> grid, uint8_t* q, SweepWindow window = {});

// x ~ d * q + b with q in [0, q_max], d >= 0. With `b_nonpositive` the offset is kept <= 0
// (k-quants store it as a subtracted non-negative minimum). A grid of starting scales is
// each refined by alternating rounding and weighted least squares; the best result is kept.
struct AffineFit {
  float d = 0.0f;
  float b = 0.0f;
  double error = 0.0;
};
AffineFit FitAffine(std::span<const float> x, std::span<const float> w, int q_max,
                    bool b_nonpositive, uint8_t* q, int n_grid = 24);

// Weighted least-squares scale for fixed codes: argmin_d sum w (x - d q)^2.
float BestScaleForCodes(std::span<const float> x, std::span<const float> w, const int8_t* q);

// Weighted squared error of a reconstruction.
double WeightedError(std::span<const float> x, std::span<const float> w, const float* y);

}  // namespace qforge

#include "qforge/quant/fit.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <vector>

namespace qforge {

namespace {

struct Event {
  float s;        // inverse scale at which the code changes
  uint16_t index; // which value
  int8_t step;    // +1 or -1 (direction of the code change)
};

// Sorts events by s, stably. The inverse scales are positive floats, whose bit patterns order
// like the values. An LSD radix sort on the top two bytes (sign, exponent and the high bits of
// the mantissa; a pass whose byte is the same for every event is skipped) leaves the events in
// order to within 1/128 of a value, and an insertion sort, stable and nearly linear on such
// input, finishes the order on all 32 bits. std::sort spent most of the quantizer's time here
// (the events arrive as many short ascending runs); four radix passes, each with a 256-entry
// prefix sum for a few hundred events, spent a fifth of it.
void SortEventsByScale(std::vector<Event>& events) {
  thread_local std::vector<Event> scratch;
  scratch.resize(events.size());
  Event* from = events.data();
  Event* to = scratch.data();
  const size_t n = events.size();
  for (int shift = 16; shift < 32; shift += 8) {
    size_t count[257] = {};
    for (size_t i = 0; i < n; ++i) ++count[((std::bit_cast<uint32_t>(from[i].s) >> shift) & 0xFF) + 1];
    if (n == 0 || count[((std::bit_cast<uint32_t>(from[0].s) >> shift) & 0xFF) + 1] == n) continue;
    for (int b = 0; b < 256; ++b) count[b + 1] += count[b];
    for (size_t i = 0; i < n; ++i) to[count[(std::bit_cast<uint32_t>(from[i].s) >> shift) & 0xFF]++] = from[i];
    std::swap(from, to);
  }
  if (from != events.data()) std::memcpy(events.data(), from, n * sizeof(Event));
  Event* e = events.data();
  for (size_t i = 1; i < n; ++i) {
    if (!(e[i].s < e[i - 1].s)) continue;
    const Event moving = e[i];
    size_t j = i;
    for (; j > 0 && moving.s < e[j - 1].s; --j) e[j] = e[j - 1];
    e[j] = moving;
  }
}

// Where the best error was found: after the first `applied` events (in sweep order), plus
// the events of the next tie group listed in `partial`.
struct SweepBest {
  double error;
  size_t applied = 0;
  std::vector<Event> partial;
};

// Runs the events in order of s, tracking A = sum w x v(q) and B = sum w v(q)^2 for the current
// codes; every reachable code vector is scored with its least-squares error sum_wxx - A^2 / B.
// Events sharing the same s (ties) are independent changes of different values, so each
// subset of a tie group is a code vector too; small groups are enumerated exhaustively.
// `delta(ev, &dA, &dB)` gives an event's change of A and B in the current state; `apply(ev)`
// commits it. Returns whether `best` improved.
template <class DeltaFn, class ApplyFn>
bool Sweep(std::vector<Event>& events, double sum_wxx, double A, double B, SweepBest& best,
           DeltaFn delta, ApplyFn apply) {
  SortEventsByScale(events);
  auto score = [&](double a, double b) { return b > 0.0 ? sum_wxx - a * a / b : sum_wxx; };
  bool improved = false;
  // Most candidates lose by far, and a multiplication shows that without score()'s division
  // (waiting on it was half the quantizer's time). A candidate is skipped only when
  // a^2 < (1 - 1e-9) (sum_wxx - best) b, a margin far above the rounding of either form, so the
  // candidates skipped are exactly ones whose score would not have improved: the result is the
  // same bit for bit. The test is armed once the best fit explains more than a millionth of
  // sum_wxx, so that the margin also dominates the rounding of sum_wxx itself.
  double skip_below = 0.0;  // a candidate with a^2 < skip_below * b cannot improve
  auto arm_skip = [&] {
    const double explained = sum_wxx - best.error;
    skip_below = explained > 1e-6 * sum_wxx ? explained * (1.0 - 1e-9) : 0.0;
  };
  arm_skip();  // `best` may come from an earlier sweep (the other sign)
  auto offer = [&](double a, double b, size_t applied, const Event* partial, uint32_t mask, size_t size) {
    if (a * a < skip_below * b) return;
    const double e = score(a, b);
    if (!(e < best.error)) return;
    best.error = e;
    best.applied = applied;
    best.partial.clear();
    for (size_t k = 0; k < size; ++k) {
      if (mask & (1u << k)) best.partial.push_back(partial[k]);
    }
    improved = true;
    arm_skip();
  };
  offer(A, B, 0, nullptr, 0, 0);
  constexpr size_t kMaxEnumerated = 6;
  double dA[kMaxEnumerated], dB[kMaxEnumerated];
  for (size_t g = 0; g < events.size();) {
    size_t end = g + 1;
    while (end < events.size() && events[end].s == events[g].s) ++end;
    const size_t size = end - g;
    if (size > 1 && size <= kMaxEnumerated) {
      for (size_t k = 0; k < size; ++k) delta(events[g + k], &dA[k], &dB[k]);
      // Each subset's sums are its subset without the highest member plus that member: the
      // same additions, in the same order (members ascending), as summing each subset anew.
      double sub_a[1u << kMaxEnumerated], sub_b[1u << kMaxEnumerated];
      sub_a[0] = A;
      sub_b[0] = B;
      for (uint32_t mask = 1; mask + 1 < (1u << size); ++mask) {
        const int top = std::bit_width(mask) - 1;
        const uint32_t rest = mask & ~(1u << top);
        sub_a[mask] = sub_a[rest] + dA[top];
        sub_b[mask] = sub_b[rest] + dB[top];
        offer(sub_a[mask], sub_b[mask], g, &events[g], mask, size);
      }
    }
    for (size_t k = g; k < end; ++k) {
      double da, db;
      delta(events[k], &da, &db);
      A += da;
      B += db;
      apply(events[k]);
    }
    offer(A, B, end, nullptr, 0, 0);
    g = end;
  }
  return improved;
}

// One direction of FitScale: d > 0 (s = 1/d > 0), codes in [lo, hi]. The code of x_i at s is
// the number of thresholds (k - 1/2) / |x_i| below s; events are those thresholds inside the
// window, computed once so the tracked codes and the rebuilt ones agree to the last bit.
// Writes the codes and least-squares scale when it improves `best`. Codes are 16-bit here:
// the mirrored range of an int8 grid ([-127, 128] for [-128, 127]) does not fit in 8 bits.
bool SweepPositive(std::span<const float> x, std::span<const float> w, int lo, int hi,
                   SweepWindow window, double sum_wxx, SweepBest& best, int16_t* q_out, float* d_out) {
  const size_t n = x.size();
  float amax = 0.0f;
  for (float v : x) amax = std::max(amax, std::fabs(v));
  if (amax == 0.0f) return false;
  const float s_lo = window.lo * hi / amax;
  const float s_hi = window.hi * std::max(hi, -lo) / amax;
  // Reused across calls: the quantizer fits millions of blocks.
  thread_local std::vector<Event> events;
  thread_local std::vector<int16_t> start, q;
  events.clear();
  start.assign(n, 0);
  double A = 0.0, B = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax == 0.0f) continue;
    const int limit = x[i] > 0 ? hi : -lo;
    const int16_t step = x[i] > 0 ? 1 : -1;
    // Thresholds k with (k - 1/2) / ax <= s_lo only move the starting code. Those at least two
    // below s_lo * ax + 1/2 are counted without dividing (their margin, 1.5 / ax, is far above
    // float rounding); the loop tests the rest exactly. For Q8_0 that skipped loop was most of
    // its sweep: about a hundred divisions per value before the window opens.
    const int below = std::clamp(static_cast<int>(std::floor(static_cast<double>(s_lo) * ax + 0.5)) - 2, 0, limit);
    start[i] = static_cast<int16_t>(step * below);
    for (int k = below + 1; k <= limit; ++k) {
      const float s = (k - 0.5f) / ax;
      if (s > s_hi) break;
      if (s <= s_lo) {
        start[i] = static_cast<int16_t>(start[i] + step);
      } else {
        events.push_back({s, static_cast<uint16_t>(i), static_cast<int8_t>(step)});
      }
    }
    A += static_cast<double>(w[i]) * x[i] * start[i];
    B += static_cast<double>(w[i]) * start[i] * start[i];
  }
  q = start;
  const bool improved = Sweep(events, sum_wxx, A, B, best,
        [&](const Event& ev, double* da, double* db) {
          *da = static_cast<double>(w[ev.index]) * x[ev.index] * ev.step;
          *db = static_cast<double>(w[ev.index]) * (2.0 * q[ev.index] * ev.step + 1.0);
        },
        [&](const Event& ev) { q[ev.index] = static_cast<int16_t>(q[ev.index] + ev.step); });
  if (!improved) return false;
  // Replay the winning prefix of events (and tie subset) from the starting codes.
  std::copy(start.begin(), start.end(), q_out);
  for (size_t e = 0; e < best.applied; ++e) q_out[events[e].index] = static_cast<int16_t>(q_out[events[e].index] + events[e].step);
  for (const Event& ev : best.partial) q_out[ev.index] = static_cast<int16_t>(q_out[ev.index] + ev.step);
  double a = 0.0, b = 0.0;
  for (size_t i = 0; i < n; ++i) {
    a += static_cast<double>(w[i]) * x[i] * q_out[i];
    b += static_cast<double>(w[i]) * q_out[i] * q_out[i];
  }
  *d_out = b > 0.0 ? static_cast<float>(a / b) : 0.0f;
  return true;
}

}  // namespace

ScaleFit FitScale(std::span<const float> x, std::span<const float> w, int q_lo, int q_hi,
                  int8_t* q, SweepWindow window) {
  const size_t n = x.size();
  double sum_wxx = 0.0;
  for (size_t i = 0; i < n; ++i) sum_wxx += static_cast<double>(w[i]) * x[i] * x[i];
  SweepBest best{sum_wxx, 0, {}};  // d = 0
  ScaleFit fit{0.0f, sum_wxx};
  std::fill(q, q + n, static_cast<int8_t>(0));
  thread_local std::vector<int16_t> codes;
  codes.assign(n, 0);
  if (SweepPositive(x, w, q_lo, q_hi, window, sum_wxx, best, codes.data(), &fit.d)) {
    for (size_t i = 0; i < n; ++i) q[i] = static_cast<int8_t>(codes[i]);
  }
  // A symmetric grid gives the same fits for -d; a grid without negative codes has none.
  if (q_lo != -q_hi && q_lo != 0) {
    // d < 0 is d' = -d > 0 with codes -q in [-q_hi, -q_lo].
    float d_neg = 0.0f;
    if (SweepPositive(x, w, -q_hi, -q_lo, window, sum_wxx, best, codes.data(), &d_neg)) {
      for (size_t i = 0; i < n; ++i) q[i] = static_cast<int8_t>(-codes[i]);
      fit.d = -d_neg;
    }
  }
  fit.error = best.error;
  return fit;
}

ScaleFit FitScaleOnGrid(std::span<const float> x, std::span<const float> w,
                        std::span<const int8_t> grid, uint8_t* q, SweepWindow window) {
  // For d > 0 (s = 1/d), the nearest grid point of s * x_i moves one step away from the grid
  // point nearest zero each time s * |x_i| passes the midpoint of two neighbours. d < 0 is the
  // same sweep over -x.
  const size_t n = x.size();
  const int levels = static_cast<int>(grid.size());
  float amax = 0.0f;
  for (float v : x) amax = std::max(amax, std::fabs(v));
  double sum_wxx = 0.0;
  for (size_t i = 0; i < n; ++i) sum_wxx += static_cast<double>(w[i]) * x[i] * x[i];
  ScaleFit fit{0.0f, sum_wxx};
  std::fill(q, q + n, static_cast<uint8_t>(0));
  if (amax == 0.0f) return fit;
  int zero = 0;
  for (int k = 1; k < levels; ++k) {
    if (std::abs(grid[k]) < std::abs(grid[zero])) zero = k;
  }
  const float gmax = static_cast<float>(std::max(std::abs(grid.front()), std::abs(grid.back())));
  const float s_lo = window.lo * gmax / amax, s_hi = window.hi * gmax / amax;
  SweepBest best{sum_wxx, 0, {}};
  thread_local std::vector<Event> events;
  thread_local std::vector<int> start, idx;
  start.resize(n);
  idx.resize(n);
  for (int sign = 1; sign >= -1; sign -= 2) {
    events.clear();
    double A = 0.0, B = 0.0;
    for (size_t i = 0; i < n; ++i) {
      const float v = sign * x[i];
      start[i] = zero;
      if (v != 0.0f) {
        const int dir = v > 0 ? 1 : -1;
        for (int j = zero; j + dir >= 0 && j + dir < levels; j += dir) {
          const float s = 0.5f * (grid[j] + grid[j + dir]) / v;
          if (s > s_hi) break;
          if (s <= s_lo) {
            start[i] += dir;
          } else {
            events.push_back({s, static_cast<uint16_t>(i), static_cast<int8_t>(dir)});
          }
        }
      }
      A += static_cast<double>(w[i]) * v * grid[start[i]];
      B += static_cast<double>(w[i]) * grid[start[i]] * grid[start[i]];
    }
    idx = start;
    const bool improved = Sweep(events, sum_wxx, A, B, best,
          [&](const Event& ev, double* da, double* db) {
            const int from = idx[ev.index], to = from + ev.step;
            *da = static_cast<double>(w[ev.index]) * sign * x[ev.index] * (grid[to] - grid[from]);
            *db = static_cast<double>(w[ev.index]) * (grid[to] * grid[to] - grid[from] * grid[from]);
          },
          [&](const Event& ev) { idx[ev.index] += ev.step; });
    if (!improved) continue;
    // This sign improved on the best so far: replay its winning codes, then their scale.
    idx = start;
    for (size_t e = 0; e < best.applied; ++e) idx[events[e].index] += events[e].step;
    for (const Event& ev : best.partial) idx[ev.index] += ev.step;
    double a = 0.0, b = 0.0;
    for (size_t i = 0; i < n; ++i) {
      q[i] = static_cast<uint8_t>(idx[i]);
      a += static_cast<double>(w[i]) * sign * x[i] * grid[q[i]];
      b += static_cast<double>(w[i]) * grid[q[i]] * grid[q[i]];
    }
    fit.d = b > 0.0 ? sign * static_cast<float>(a / b) : 0.0f;
  }
  fit.error = best.error;
  return fit;
}

float BestScaleForCodes(std::span<const float> x, std::span<const float> w, const int8_t* q) {
  double a = 0.0, b = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    a += static_cast<double>(w[i]) * x[i] * q[i];
    b += static_cast<double>(w[i]) * q[i] * q[i];
  }
  return b > 0.0 ? static_cast<float>(a / b) : 0.0f;
}

double WeightedError(std::span<const float> x, std::span<const float> w, const float* y) {
  double e = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double diff = static_cast<double>(x[i]) - y[i];
    e += w[i] * diff * diff;
  }
  return e;
}

AffineFit FitAffine(std::span<const float> x, std::span<const float> w, int q_max,
                    bool b_nonpositive, uint8_t* q, int n_grid) {
  const size_t n = x.size();
  float xmin = *std::min_element(x.begin(), x.end());
  const float xmax = *std::max_element(x.begin(), x.end());
  if (b_nonpositive) xmin = std::min(xmin, 0.0f);
  AffineFit best;
  if (xmax <= xmin) {  // a constant block (or all zero with b <= 0): the offset alone fits it
    std::fill(q, q + n, static_cast<uint8_t>(0));
    best.b = xmin;
    for (size_t i = 0; i < n; ++i) best.error += w[i] * (x[i] - xmin) * (x[i] - xmin);
    return best;
  }
  double sw = 0.0;
  for (size_t i = 0; i < n; ++i) sw += w[i];
  thread_local std::vector<uint8_t> codes;
  codes.assign(n, 0);
  // Nearest clamped code for every value: optimal for a fixed (d, b), since the error is a
  // sum of independent convex terms. Returns whether any code changed.
  auto round_codes = [&](float d, float b) {
    const float inv = 1.0f / d;
    bool changed = false;
    for (size_t i = 0; i < n; ++i) {
      const auto c = static_cast<uint8_t>(
          std::clamp(static_cast<int>(std::nearbyint((x[i] - b) * inv)), 0, q_max));
      changed |= c != codes[i];
      codes[i] = c;
    }
    return changed;
  };
  // Weighted least-squares (d, b) for fixed codes, optimal for them (b clamped to <= 0 if
  // required, which is then the constrained optimum).
  auto refit = [&](float& d, float& b) {
    double sq = 0, sqq = 0, sx = 0, sxq = 0;
    for (size_t i = 0; i < n; ++i) {
      const double wq = static_cast<double>(w[i]) * codes[i];
      sq += wq;
      sqq += wq * codes[i];
      sx += static_cast<double>(w[i]) * x[i];
      sxq += wq * x[i];
    }
    const double det = sw * sqq - sq * sq;
    if (!(det > 0.0)) return false;
    double dd = (sw * sxq - sq * sx) / det;
    double bb = (sqq * sx - sq * sxq) / det;
    if (b_nonpositive && bb > 0.0) {
      bb = 0.0;
      dd = sxq / sqq;
    }
    if (!(dd > 0.0)) return false;
    d = static_cast<float>(dd);
    b = static_cast<float>(bb);
    return true;
  };
  best.error = INFINITY;
  const float range = xmax - xmin;
  for (int g = 0; g <= n_grid; ++g) {
    // Starting scales from 0.7x to 1.3x of range / q_max with the offset at the minimum; each
    // is refined by alternating rounding and refitting, which never increases the error.
    float d = range * (0.7f + 0.6f * g / n_grid) / q_max, b = xmin;
    round_codes(d, b);
    for (int iter = 0; iter < 8; ++iter) {
      if (!refit(d, b) || !round_codes(d, b)) break;
    }
    double err = 0.0;
    for (size_t i = 0; i < n; ++i) {
      const double diff = x[i] - (d * codes[i] + b);
      err += w[i] * diff * diff;
    }
    if (err < best.error) {
      best = {d, b, err};
      std::copy(codes.begin(), codes.end(), q);
    }
  }
  return best;
}

}  // namespace qforge

// The 16 values of the non-linear 4-bit grid used by IQ4_NL and IQ4_XS (part of the format's
// definition in llama.cpp), ascending.
#pragma once

#include <cmath>
#include <cstdint>

namespace qforge {

inline constexpr int8_t kIq4Grid[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                        1,    13,   25,  38,  53,  69,  89,  113};

// Index of the grid value nearest to t (the lower one on ties).
inline int NearestGridIndex(float t) {
  int best = 0;
  for (int k = 1; k < 16; ++k) {
    if (std::fabs(kIq4Grid[k] - t) < std::fabs(kIq4Grid[best] - t)) best = k;
  }
  return best;
}

}  // namespace qforge

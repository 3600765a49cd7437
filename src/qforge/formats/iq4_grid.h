// The 16 values of the non-linear 4-bit grid used by IQ4_NL and IQ4_XS (part of the format's
// definition in llama.cpp), ascending.
#pragma once

#include <cmath>
#include <cstdint>

namespace qforge {

inline constexpr int8_t kIq4Grid[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                        1,    13,   25,  38,  53,  69,  89,  113};

// The midpoints of neighbouring grid values; all are exact in float (halves of integers).
inline constexpr float kIq4GridMidpoints[15] = {-115.5f, -93.5f, -74.0f, -57.0f, -42.0f, -28.5f, -16.0f, -4.5f,
                                                7.0f,    19.0f,  31.5f,  45.5f,  61.0f,  79.0f,  101.0f};

// Index of the grid value nearest to t (the lower one on ties; 0 for NaN, 15 for +inf): the
// number of midpoints strictly below t. For finite t equal to comparing |grid[k] - t| for
// every k and keeping the first minimum (tests/formats/iq4_grid_test.cpp checks this around
// every midpoint): near a midpoint both distances are exact in float, so float comparisons
// order them as exact arithmetic does. Branch-free; the quantizer's scale search calls it
// millions of times.
inline int NearestGridIndex(float t) {
  int index = 0;
  for (float m : kIq4GridMidpoints) index += t > m ? 1 : 0;
  return index;
}

}  // namespace qforge

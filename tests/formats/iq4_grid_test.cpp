// NearestGridIndex (midpoint count) against the definition: the first grid value at the
// smallest |grid[k] - t| in float arithmetic. Every float within 4096 ulps of each midpoint,
// the grid values themselves, values past both ends, signed zeros, NaN and a million random
// values over the range. Infinities are the one difference, checked on their own.
#include "qforge/formats/iq4_grid.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace qforge {
namespace {

int NearestByDistance(float t) {
  int best = 0;
  for (int k = 1; k < 16; ++k) {
    if (std::fabs(kIq4Grid[k] - t) < std::fabs(kIq4Grid[best] - t)) best = k;
  }
  return best;
}

TEST(Iq4Grid, MidpointsAreTheMeansOfNeighbours) {
  for (int k = 0; k < 15; ++k) {
    EXPECT_EQ(kIq4GridMidpoints[k], 0.5f * (kIq4Grid[k] + kIq4Grid[k + 1])) << k;
  }
}

TEST(Iq4Grid, NearestIndexMatchesTheDistanceDefinition) {
  std::vector<float> probes = {0.0f, -0.0f, 1e-30f, -1e-30f, 1e6f, -1e6f, std::numeric_limits<float>::quiet_NaN()};
  for (int8_t g : kIq4Grid) probes.push_back(g);
  for (float m : kIq4GridMidpoints) {
    float up = m, down = m;
    probes.push_back(m);
    for (int i = 0; i < 4096; ++i) {
      up = std::nextafter(up, INFINITY);
      down = std::nextafter(down, -INFINITY);
      probes.push_back(up);
      probes.push_back(down);
    }
  }
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uniform(-140.0f, 140.0f);
  for (int i = 0; i < 1000000; ++i) probes.push_back(uniform(rng));
  int mismatches = 0;
  for (float t : probes) {
    if (NearestGridIndex(t) != NearestByDistance(t) && ++mismatches <= 5) {
      ADD_FAILURE() << "t=" << t << " midpoint count " << NearestGridIndex(t) << ", by distance "
                    << NearestByDistance(t);
    }
  }
  EXPECT_EQ(mismatches, 0);
}

// At +infinity every distance is infinite and the definition keeps index 0 (-127); the count
// gives the end of the grid, as for every finite value above it.
TEST(Iq4Grid, InfinitiesMapToTheEnds) {
  EXPECT_EQ(NearestGridIndex(std::numeric_limits<float>::infinity()), 15);
  EXPECT_EQ(NearestGridIndex(-std::numeric_limits<float>::infinity()), 0);
}

}  // namespace
}  // namespace qforge

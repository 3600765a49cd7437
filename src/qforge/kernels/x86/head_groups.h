// The attention loops handle the query heads of a group up to four at a time (their
// accumulators fill the registers); this walks n_q heads in such groups for every ISA.
#pragma once

#include <algorithm>
#include <type_traits>

namespace qforge {

// Calls fn(std::integral_constant<int, G>{}, first) for consecutive groups of G <= 4 heads
// starting at head `first`, covering heads [0, n_q).
template <class Fn>
void ForEachHeadGroup(int n_q, Fn&& fn) {
  for (int g = 0; g < n_q; g += 4) {
    switch (std::min(4, n_q - g)) {
      case 1: fn(std::integral_constant<int, 1>{}, g); break;
      case 2: fn(std::integral_constant<int, 2>{}, g); break;
      case 3: fn(std::integral_constant<int, 3>{}, g); break;
      default: fn(std::integral_constant<int, 4>{}, g); break;
    }
  }
}

}  // namespace qforge

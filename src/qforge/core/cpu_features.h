// What the CPU running us can execute, detected once. Kernels are chosen from this at run time.
#pragma once

#include <string>

namespace qforge {

enum class Isa { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

struct CpuFeatures {
  bool avx2 = false;     // with FMA and F16C
  bool avx512 = false;   // F, BW, VL, DQ
  bool avx512_vnni = false;
  bool avx512_bf16 = false;
  bool avx_vnni = false;
  std::string brand;
};

const CpuFeatures& DetectCpu();

// The best ISA this CPU supports, optionally capped by the environment variable QFORGE_ISA
// (scalar, avx2, avx512) so tests and benchmarks can exercise every path on one machine.
Isa BestIsa();
const char* IsaName(Isa isa);

// One line describing the machine: CPU brand, ISA in use, core count.
std::string DescribeMachine();

}  // namespace qforge

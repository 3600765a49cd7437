#include "qforge/core/cpu_features.h"

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace qforge {

namespace {

std::string ReadCpuBrand() {
#if defined(__x86_64__)
  unsigned int regs[12] = {};
  unsigned int max_ext = __get_cpuid_max(0x80000000, nullptr);
  if (max_ext >= 0x80000004) {
    for (unsigned int i = 0; i < 3; ++i) {
      __get_cpuid(0x80000002 + i, &regs[4 * i], &regs[4 * i + 1], &regs[4 * i + 2], &regs[4 * i + 3]);
    }
    char brand[49] = {};
    std::memcpy(brand, regs, 48);
    std::string s(brand);
    while (!s.empty() && s.back() == ' ') s.pop_back();
    while (!s.empty() && s.front() == ' ') s.erase(s.begin());
    return s;
  }
#endif
  return "unknown CPU";
}

CpuFeatures Detect() {
  CpuFeatures f;
#if defined(__x86_64__)
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  f.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  f.avx512_vnni = f.avx512 && __builtin_cpu_supports("avx512vnni");
  f.avx512_bf16 = f.avx512 && __builtin_cpu_supports("avx512bf16");
  unsigned int a, b, c, d;
  if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) f.avx_vnni = f.avx2 && (a & (1u << 4));
#endif
  f.brand = ReadCpuBrand();
  return f;
}

}  // namespace

const CpuFeatures& DetectCpu() {
  static std::once_flag once;
  static CpuFeatures features;
  std::call_once(once, [] { features = Detect(); });
  return features;
}

Isa BestIsa() {
  const CpuFeatures& f = DetectCpu();
  Isa best = f.avx512 ? Isa::kAvx512 : f.avx2 ? Isa::kAvx2 : Isa::kScalar;
  if (const char* cap = std::getenv("QFORGE_ISA")) {
    Isa limit = best;
    if (std::strcmp(cap, "scalar") == 0) limit = Isa::kScalar;
    else if (std::strcmp(cap, "avx2") == 0) limit = Isa::kAvx2;
    else if (std::strcmp(cap, "avx512") == 0) limit = Isa::kAvx512;
    if (static_cast<int>(limit) < static_cast<int>(best)) best = limit;
  }
  return best;
}

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
  }
  return "?";
}

std::string DescribeMachine() {
  const CpuFeatures& f = DetectCpu();
  std::string isa = IsaName(BestIsa());
  if (BestIsa() == Isa::kAvx512 && f.avx512_vnni) isa += "+vnni";
  return fmt::format("{}, {} hardware threads, kernels {}", f.brand,
                     std::thread::hardware_concurrency(), isa);
}

}  // namespace qforge

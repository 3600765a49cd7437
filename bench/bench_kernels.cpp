// Dot-product kernel throughput per weight format and ISA, against the memory-bandwidth
// ceiling of the machine measured in the same run.
//   streaming: one pass over a weight matrix far larger than any cache, one dot per row, as a
//              row-major generation step does; reported in GB/s of weight bytes and as a
//              fraction of the single-thread read bandwidth.
//   in-cache:  the same dots over a small matrix that stays in L2, repeated; reported in TSC
//              cycles and nanoseconds per 32 values (the kernels' compute cost alone).
//   four-row:  the four-row kernel (prompt processing, batched decoding) over the in-cache
//              matrix, in TSC cycles per 32 values of one activation row.
// A second table covers the interleaved groups (kernels/interleaved.h) that models use for
// Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0: the same matrices regrouped, with one and four activation rows.
// Every figure is the median of R timed runs after one warm-up. Prints a Markdown table.
#include <fmt/format.h>
#include <sys/resource.h>
#include <x86intrin.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "qforge/core/cpu_features.h"
#include "qforge/core/huge_page_arena.h"
#include "qforge/formats/ggml_type.h"
#include "qforge/formats/registry.h"
#include "qforge/kernels/dispatch.h"
#include "qforge/kernels/interleaved.h"
#include "qforge/kernels/matmul.h"

namespace {

using Clock = std::chrono::steady_clock;
using qforge::GgmlType;
using qforge::Isa;

constexpr int64_t kRowValues = 4096;        // a typical hidden size
constexpr size_t kInCacheBytes = 512 << 10;  // half of a 1 MiB L2, leaving room for activations
constexpr int kInCacheRows = 64;

volatile float g_sink;  // every dot ends here, so the compiler cannot drop the work

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

// Runs `fn` once to warm up, then `reps` times; returns the median of what each run returns.
template <typename Fn>
double MedianOfRuns(int reps, Fn&& fn) {
  fn();
  std::vector<double> results;
  for (int i = 0; i < reps; ++i) results.push_back(fn());
  return Median(results);
}

// Buffers for hundreds of MiB: zero-initialized vectors would double the setup time, and
// 64-byte alignment keeps every row start the same relative to cache lines. They live in huge
// pages where the kernel grants them, as the model's weights do (Model::PlaceWeights), so the
// ceiling and the streaming figures read memory the way generation does.
struct AlignedBuffer {
  explicit AlignedBuffer(size_t n) : size(n), arena(n), data(arena.Allocate(n)) {
    if (data == nullptr) throw std::bad_alloc();
  }
  size_t size;
  qforge::HugePageArena arena;
  uint8_t* data;
};

// ---- memory-bandwidth ceiling -------------------------------------------------------------

// Sums 32-byte integer vectors; four accumulators so the add latency never limits the loads.
// Compiled for AVX2 alone, and only called when the CPU has it.
__attribute__((target("avx2"))) uint64_t StreamSumAvx2(const uint8_t* p, size_t bytes) {
  __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
  for (size_t i = 0; i + 128 <= bytes; i += 128) {
    for (int k = 0; k < 4; ++k) {
      acc[k] = _mm256_add_epi64(acc[k], _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32 * k)));
    }
  }
  const __m256i s = _mm256_add_epi64(_mm256_add_epi64(acc[0], acc[1]), _mm256_add_epi64(acc[2], acc[3]));
  return static_cast<uint64_t>(_mm256_extract_epi64(s, 0) + _mm256_extract_epi64(s, 1) +
                               _mm256_extract_epi64(s, 2) + _mm256_extract_epi64(s, 3));
}

// GB/s (1e9 bytes/s) of reading `buf` once, split into disjoint contiguous parts, one per thread.
// Thread start-up (tens of microseconds) is inside the timing; a pass takes tens of milliseconds.
double StreamGBs(const AlignedBuffer& buf, int threads) {
  const size_t part = buf.size / static_cast<size_t>(threads) / 128 * 128;
  std::vector<uint64_t> sums(static_cast<size_t>(threads));
  const auto t0 = Clock::now();
  std::vector<std::thread> workers;
  for (int t = 1; t < threads; ++t) {
    workers.emplace_back([&, t] { sums[static_cast<size_t>(t)] = StreamSumAvx2(buf.data + t * part, part); });
  }
  sums[0] = StreamSumAvx2(buf.data, part);
  for (auto& w : workers) w.join();
  const double s = Seconds(t0);
  for (uint64_t v : sums) g_sink = g_sink + static_cast<float>(v & 1);
  return static_cast<double>(part) * threads / s / 1e9;
}

// ---- kernels --------------------------------------------------------------------------------

struct KernelFigures {
  double cycles_per_32 = 0, ns_per_32 = 0, stream_gbs = 0;
  double four_row_cycles_per_32 = 0;  // the four-row kernel, per 32 values of one activation row
};

// One row of kRowValues random normal values quantized to `type`.
std::vector<uint8_t> RandomRow(GgmlType type, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(kRowValues);
  for (float& v : x) v = normal(rng);
  std::vector<uint8_t> row(*qforge::RowBytes(type, kRowValues));
  qforge::FindFormatOps(type)->quantize_row_ref(x.data(), row.data(), kRowValues, nullptr);
  return row;
}

// Fills `rows` rows from a few distinct quantized rows (quantizing hundreds of MiB would take
// longer than the benchmark); the memcpy touches every page before anything is timed.
void FillMatrix(uint8_t* dst, size_t rows, const std::vector<std::vector<uint8_t>>& distinct) {
  const size_t row_bytes = distinct[0].size();
  for (size_t r = 0; r < rows; ++r) std::memcpy(dst + r * row_bytes, distinct[r % distinct.size()].data(), row_bytes);
}

// One dot per row over `rows` rows, `passes` times.
float DotPasses(qforge::VecDotFn dot, const uint8_t* w, size_t rows, size_t row_bytes, const void* act, int passes) {
  float acc = 0.0f;
  for (int p = 0; p < passes; ++p) {
    for (size_t r = 0; r < rows; ++r) acc += dot(kRowValues, w + r * row_bytes, act);
  }
  return acc;
}

// A kernel that disagrees with the reference would make every figure meaningless; the bound
// is loose (the unit test holds the tight one) and only catches a broken kernel.
bool CheckKernel(const qforge::FormatOps& ops, qforge::VecDotFn dot, const std::vector<uint8_t>& w,
                 const std::vector<uint8_t>& act) {
  std::vector<float> wf(kRowValues), af(kRowValues);
  ops.dequantize_row(w.data(), wf.data(), kRowValues);
  qforge::FindFormatOps(ops.vec_dot_type)->dequantize_row(act.data(), af.data(), kRowValues);
  double magnitude = 0;
  for (int64_t i = 0; i < kRowValues; ++i) magnitude += std::fabs(static_cast<double>(wf[i]) * af[i]);
  const double ref = ops.vec_dot_ref(kRowValues, w.data(), act.data());
  return std::fabs(dot(kRowValues, w.data(), act.data()) - ref) <= 1e-4 * magnitude;
}

// The four-row kernel over the in-cache matrix: each weight row dotted with four activation
// rows (copies of `act`), as prompt processing and batched decoding call it. Cycles per 32
// values of one activation row, so the figure compares directly with the single dot's.
double MeasureFourRowKernel(qforge::VecDot4Fn dot4, const AlignedBuffer& matrix, size_t row_bytes,
                            const std::vector<uint8_t>& act, int reps) {
  std::vector<uint8_t> acts(4 * act.size());
  for (int r = 0; r < 4; ++r) std::memcpy(acts.data() + r * act.size(), act.data(), act.size());
  const size_t cache_rows = std::min<size_t>(kInCacheRows, kInCacheBytes / row_bytes);
  auto run = [&](int passes) {
    float out[4], acc = 0.0f;
    for (int p = 0; p < passes; ++p) {
      for (size_t r = 0; r < cache_rows; ++r) {
        dot4(kRowValues, matrix.data + r * row_bytes, acts.data(), act.size(), out);
        acc += out[0] + out[3];
      }
    }
    g_sink = g_sink + acc;
  };
  auto t0 = Clock::now();
  run(1);
  const int passes = std::clamp(static_cast<int>(0.02 / std::max(Seconds(t0), 1e-9)), 1, 100000);
  const double row_blocks32 = 4.0 * passes * cache_rows * kRowValues / 32;
  std::vector<double> cycles;
  for (int i = -1; i < reps; ++i) {  // run -1 is the warm-up
    const uint64_t c0 = __rdtsc();
    run(passes);
    const uint64_t c1 = __rdtsc();
    if (i >= 0) cycles.push_back(static_cast<double>(c1 - c0) / row_blocks32);
  }
  return Median(cycles);
}

KernelFigures MeasureKernel(qforge::VecDotFn dot, AlignedBuffer& matrix, size_t stream_rows, size_t row_bytes,
                            const std::vector<uint8_t>& act, int reps) {
  KernelFigures f;
  // In-cache: a small matrix at the start of the buffer, passes sized so a run lasts ~20 ms.
  const size_t cache_rows = std::min<size_t>(kInCacheRows, kInCacheBytes / row_bytes);
  auto t0 = Clock::now();
  g_sink = g_sink + DotPasses(dot, matrix.data, cache_rows, row_bytes, act.data(), 1);
  const int passes = std::clamp(static_cast<int>(0.02 / std::max(Seconds(t0), 1e-9)), 1, 100000);
  const double blocks32 = static_cast<double>(passes) * cache_rows * kRowValues / 32;
  std::vector<double> cycles, ns;
  for (int i = -1; i < reps; ++i) {  // run -1 is the warm-up
    t0 = Clock::now();
    const uint64_t c0 = __rdtsc();
    g_sink = g_sink + DotPasses(dot, matrix.data, cache_rows, row_bytes, act.data(), passes);
    const uint64_t c1 = __rdtsc();
    const double s = Seconds(t0);
    if (i < 0) continue;
    cycles.push_back(static_cast<double>(c1 - c0) / blocks32);
    ns.push_back(s * 1e9 / blocks32);
  }
  f.cycles_per_32 = Median(cycles);
  f.ns_per_32 = Median(ns);
  // Streaming: one pass over the whole matrix, which the in-cache runs have not warmed.
  f.stream_gbs = MedianOfRuns(reps, [&] {
    const auto start = Clock::now();
    g_sink = g_sink + DotPasses(dot, matrix.data, stream_rows, row_bytes, act.data(), 1);
    return static_cast<double>(stream_rows * row_bytes) / Seconds(start) / 1e9;
  });
  return f;
}

// ---- interleaved groups ---------------------------------------------------------------------

struct InterleavedFigures {
  double one_cycles_per_32 = 0, four_cycles_per_32 = 0, stream_gbs = 0;
};

// Cycles per 32 values of one weight row over `groups` groups, `passes` times per run.
template <class Pass>
double CyclesPer32(Pass pass, size_t rows, int activation_rows, int passes, int reps) {
  const double blocks32 = static_cast<double>(passes) * rows * activation_rows * kRowValues / 32;
  std::vector<double> cycles;
  for (int i = -1; i < reps; ++i) {  // run -1 is the warm-up
    const uint64_t c0 = __rdtsc();
    for (int p = 0; p < passes; ++p) pass();
    const uint64_t c1 = __rdtsc();
    if (i >= 0) cycles.push_back(static_cast<double>(c1 - c0) / blocks32);
  }
  return Median(cycles);
}

// The row-major matrix in `matrix` regrouped, then the in-cache and streaming runs as above.
InterleavedFigures MeasureInterleaved(const qforge::FormatOps& ops, const qforge::InterleavedKernels& k,
                                      const AlignedBuffer& matrix, size_t stream_rows, size_t row_bytes,
                                      const std::vector<uint8_t>& act, int reps) {
  qforge::WeightMatrix w;
  w.type = ops.type;
  w.data = matrix.data;
  w.n_in = kRowValues;
  w.n_out = static_cast<int64_t>(stream_rows / 8 * 8);
  w.row_bytes = row_bytes;
  AlignedBuffer groups(w.bytes());
  qforge::InterleaveRows(w, groups.data);
  const size_t group_bytes = qforge::InterleavedGroupBytes(ops.type, kRowValues);
  std::vector<int16_t> sums(kRowValues / 32);
  if (ops.vec_dot_type == qforge::GgmlType::Q8_0) qforge::Q8_0BlockSums(act.data(), kRowValues, sums.data());
  std::vector<uint8_t> acts(4 * act.size());
  for (int r = 0; r < 4; ++r) std::memcpy(acts.data() + r * act.size(), act.data(), act.size());
  std::vector<int16_t> sums4(4 * sums.size());
  for (int r = 0; r < 4; ++r) std::copy(sums.begin(), sums.end(), sums4.begin() + r * sums.size());
  float out[4 * 8];
  float acc = 0.0f;
  auto one_pass = [&](size_t n_groups) {
    for (size_t g = 0; g < n_groups; ++g) {
      k.one(kRowValues, groups.data + g * group_bytes, act.data(), act.size(), sums.data(), sums.size(), out, 8);
      acc += out[0] + out[7];
    }
  };
  const size_t cache_groups = std::min<size_t>(kInCacheRows, kInCacheBytes / row_bytes) / 8;
  auto t0 = Clock::now();
  one_pass(cache_groups);
  const int passes = std::clamp(static_cast<int>(0.02 / std::max(Seconds(t0), 1e-9)), 1, 100000);
  InterleavedFigures f;
  f.one_cycles_per_32 = CyclesPer32([&] { one_pass(cache_groups); }, cache_groups * 8, 1, passes, reps);
  if (k.four) {
    f.four_cycles_per_32 = CyclesPer32(
        [&] {
          for (size_t g = 0; g < cache_groups; ++g) {
            k.four(kRowValues, groups.data + g * group_bytes, acts.data(), act.size(), sums4.data(), sums.size(), out, 8);
            acc += out[0] + out[31];
          }
        },
        cache_groups * 8, 4, passes, reps);
  }
  f.stream_gbs = MedianOfRuns(reps, [&] {
    const auto start = Clock::now();
    one_pass(static_cast<size_t>(w.n_out / 8));
    return static_cast<double>(w.bytes()) / Seconds(start) / 1e9;
  });
  g_sink = g_sink + acc;
  return f;
}

std::string CpuModelName() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  }
  return qforge::DetectCpu().brand;
}

double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"qforge kernel benchmark: dot-product GB/s and cycles per 32 values, per format and ISA"};
  bool quick = false;
  std::string format_name;
  app.add_flag("--quick", quick, "Smoke run: 32 MiB matrix, 64 MiB ceiling buffer, 3 runs");
  app.add_option("--format", format_name, "Only this weight format (e.g. q4_K)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help exits 0; any usage error exits 2
  }

  std::vector<const qforge::FormatOps*> formats;
  for (const qforge::FormatOps& ops : qforge::AllFormatOps()) {
    if (!ops.is_activation_type && ops.vec_dot_ref) formats.push_back(&ops);
  }
  if (!format_name.empty()) {
    const auto type = qforge::GgmlTypeFromName(format_name);
    std::erase_if(formats, [&](const qforge::FormatOps* ops) { return !type || ops->type != *type; });
    if (formats.empty()) {
      fmt::print(stderr, "bench_kernels: '{}' is not a weight format with a dot product\n", format_name);
      return 2;
    }
  }

  const int reps = quick ? 3 : 7;
  const size_t matrix_bytes = size_t{quick ? 32u : 256u} << 20;
  const size_t ceiling_bytes = size_t{quick ? 64u : 512u} << 20;
  const qforge::CpuFeatures& cpu = qforge::DetectCpu();
  const Isa best = qforge::BestIsa();

  fmt::print("# qforge kernel benchmark\n\n");
  fmt::print("- CPU: {} ({} hardware threads)\n", CpuModelName(), std::thread::hardware_concurrency());
  fmt::print("- ISA: avx2={} avx512={} avx512_vnni={} avx512_bf16={} avx_vnni={}; best usable: {}{}\n", cpu.avx2,
             cpu.avx512, cpu.avx512_vnni, cpu.avx512_bf16, cpu.avx_vnni, qforge::IsaName(best),
             std::getenv("QFORGE_ISA") ? " (capped by QFORGE_ISA)" : "");
  fmt::print("- rows of {} values; streaming matrix {} MiB; in-cache matrix {} rows (at most {} KiB); "
             "median of {} runs after a warm-up\n",
             kRowValues, matrix_bytes >> 20, kInCacheRows, kInCacheBytes >> 10, reps);

  // The ceiling: read-only streaming with AVX2 loads, 1 and 2 threads.
  double ceiling1 = 0;
  if (best >= Isa::kAvx2) {
    AlignedBuffer buf(ceiling_bytes);
    std::memset(buf.data, 1, buf.size);  // fault in every page before timing
    ceiling1 = MedianOfRuns(reps, [&] { return StreamGBs(buf, 1); });
    const double ceiling2 = MedianOfRuns(reps, [&] { return StreamGBs(buf, 2); });
    fmt::print("- memory-bandwidth ceiling (read-only AVX2 stream over {} MiB{}): {:.1f} GB/s with 1 thread, "
               "{:.1f} GB/s with 2 threads\n",
               ceiling_bytes >> 20, buf.arena.huge_pages_advised() ? ", huge pages advised" : ", 4 KiB pages",
               ceiling1, ceiling2);
  } else {
    fmt::print("- memory-bandwidth ceiling: not measured (needs AVX2)\n");
  }
  // TSC ticks at a fixed nominal rate; report it so cycles can be related to the core clock.
  {
    const auto t0 = Clock::now();
    const uint64_t c0 = __rdtsc();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    fmt::print("- TSC frequency: {:.3f} GHz (cycles below are TSC ticks, not core clock cycles)\n\n",
               static_cast<double>(__rdtsc() - c0) / Seconds(t0) / 1e9);
  }

  fmt::print("| format | ISA | bytes / 32 values | in-cache cycles / 32 | in-cache ns / 32 | streaming GB/s | "
             "% of 1-thread ceiling | four-row cycles / 32 per row |\n|---|---|---:|---:|---:|---:|---:|---:|\n");
  AlignedBuffer matrix(matrix_bytes);
  std::mt19937 rng(42);
  const auto table_start = Clock::now();
  const double table_cpu_start = ProcessCpuSeconds();
  for (const qforge::FormatOps* ops : formats) {
    const size_t row_bytes = *qforge::RowBytes(ops->type, kRowValues);
    const size_t stream_rows = matrix_bytes / row_bytes;
    std::vector<std::vector<uint8_t>> distinct;
    for (int i = 0; i < 8; ++i) distinct.push_back(RandomRow(ops->type, rng));
    FillMatrix(matrix.data, stream_rows, distinct);
    const std::vector<uint8_t> act = RandomRow(ops->vec_dot_type, rng);
    const std::string_view name = qforge::GgmlTypeName(ops->type);

    for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
      const qforge::VecDotFn dot = qforge::VecDotForIsa(ops->type, isa);
      if (!dot) continue;
      if (!CheckKernel(*ops, dot, distinct[0], act)) {
        fmt::print(stderr, "bench_kernels: {} {} disagrees with the scalar reference\n", name, qforge::IsaName(isa));
        return 1;
      }
      const KernelFigures f = MeasureKernel(dot, matrix, stream_rows, row_bytes, act, reps);
      const std::string share = ceiling1 > 0 ? fmt::format("{:.0f}%", 100 * f.stream_gbs / ceiling1) : "-";
      const qforge::VecDot4Fn dot4 = qforge::VecDot4ForIsa(ops->type, isa);
      const std::string four =
          dot4 ? fmt::format("{:.1f}", MeasureFourRowKernel(dot4, matrix, row_bytes, act, reps)) : "-";
      fmt::print("| {} | {} | {:.2f} | {:.1f} | {:.2f} | {:.1f} | {} | {} |\n", name, qforge::IsaName(isa),
                 static_cast<double>(row_bytes) * 32 / kRowValues, f.cycles_per_32, f.ns_per_32, f.stream_gbs,
                 share, four);
      std::fflush(stdout);  // rows appear as they are measured
    }
  }
  fmt::print("\n## Interleaved groups of eight rows (the layout models use for Q4_0, Q4_1, Q5_0, Q5_1, Q8_0)\n\n"
             "| format | ISA | one activation row, cycles / 32 per row | four activation rows, cycles / 32 per row "
             "| streaming GB/s | % of 1-thread ceiling |\n|---|---|---:|---:|---:|---:|\n");
  for (const qforge::FormatOps* ops : formats) {
    const size_t row_bytes = *qforge::RowBytes(ops->type, kRowValues);
    if (!qforge::CanInterleave(ops->type, kRowValues, 8)) continue;
    const size_t stream_rows = matrix_bytes / 2 / row_bytes;  // half: the regrouped copy needs the other half
    std::vector<std::vector<uint8_t>> distinct;
    for (int i = 0; i < 8; ++i) distinct.push_back(RandomRow(ops->type, rng));
    FillMatrix(matrix.data, stream_rows, distinct);
    const std::vector<uint8_t> act = RandomRow(ops->vec_dot_type, rng);
    for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
      const qforge::InterleavedKernels k = qforge::InterleavedKernelsForIsa(ops->type, isa);
      if (!k.one) continue;
      const InterleavedFigures f = MeasureInterleaved(*ops, k, matrix, stream_rows, row_bytes, act, reps);
      const std::string share = ceiling1 > 0 ? fmt::format("{:.0f}%", 100 * f.stream_gbs / ceiling1) : "-";
      const std::string four = k.four ? fmt::format("{:.1f}", f.four_cycles_per_32) : "-";
      fmt::print("| {} | {} | {:.1f} | {} | {:.1f} | {} |\n", qforge::GgmlTypeName(ops->type), qforge::IsaName(isa),
                 f.one_cycles_per_32, four, f.stream_gbs, share);
      std::fflush(stdout);
    }
  }
  // On a shared machine other processes take turns on our core; this says how much we had.
  fmt::print("\nThe kernel runs had the CPU {:.0f}% of their wall time (100% = a core to themselves).\n",
             100 * (ProcessCpuSeconds() - table_cpu_start) / Seconds(table_start));
  return 0;
}

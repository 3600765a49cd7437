// Prompt-processing matrix multiplies with F16 weights, in GFLOP/s (2 * n_in * n_out * rows per
// multiply), per shape:
//   four-row:  every weight row against four widened activation rows at a time (the kernel
//              AVX2 uses, and AVX-512 for the rows a tile leaves), 30-row weight tiles;
//   tile:      the register tile of the CPU's F16 kernels (kernels.md), the same loop order;
//   MatMul:    QuantizeRows + MatMul as the model calls them (widening included, threaded).
// The first two run the kernels directly on one thread, in one process, alternating, so their
// ratio is not moved by the machine's drift. Results are checked first: the tile's outputs must
// have the four-row kernel's bits. Every figure is the median of R runs after one warm-up.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "qforge/core/aligned_allocator.h"
#include "qforge/core/cpu_features.h"
#include "qforge/core/fp16.h"
#include "qforge/kernels/dispatch.h"
#include "qforge/kernels/matmul.h"

namespace {

using qforge::F16WidenedKernels;

struct Shape {
  int64_t n_in, n_out;
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <typename Fn>
double Seconds(Fn&& fn) {
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// y (rows x n_out) with the four-row kernel for every weight row, or tiles of `tile_rows`.
void KernelLoop(const F16WidenedKernels& k, bool use_tile, const Shape& s, const uint16_t* w, const float* a,
                int64_t a_stride, int64_t rows, float* y) {
  const size_t a_bytes = static_cast<size_t>(a_stride) * sizeof(float);
  const size_t w_bytes = static_cast<size_t>(s.n_in) * sizeof(uint16_t);
  const int64_t step = use_tile ? k.tile_rows : 1;
  const int64_t tile_size = 32 / step * step;
  for (int64_t tile = 0; tile < s.n_out; tile += tile_size) {
    const int64_t tile_end = std::min(s.n_out, tile + tile_size);
    for (int64_t r = 0; r + 4 <= rows; r += 4) {
      const float* act = a + r * a_stride;
      int64_t o = tile;
      for (; use_tile && o + step <= tile_end; o += step) {
        float v[4 * qforge::kMaxF16TileRows];
        k.tile(s.n_in, w + o * s.n_in, w_bytes, act, a_bytes, v);
        for (int64_t j = 0; j < step; ++j) {
          for (int64_t q = 0; q < 4; ++q) y[(r + q) * s.n_out + o + j] = v[j * 4 + q];
        }
      }
      for (; o < tile_end; ++o) {
        float v[4];
        k.four(s.n_in, w + o * s.n_in, act, a_bytes, v);
        for (int64_t q = 0; q < 4; ++q) y[(r + q) * s.n_out + o] = v[q];
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"F16 prompt matmul GFLOP/s: four-row kernel, register tile, MatMul"};
  int64_t rows = 512;
  int reps = 7;
  int threads = 1;
  app.add_option("--rows", rows, "Activation rows (prompt tokens)")->check(CLI::Range(4, 1 << 16));
  app.add_option("-r,--reps", reps, "Timed runs per figure (median reported)")->check(CLI::Range(1, 1000));
  app.add_option("-t,--threads", threads, "Threads for the MatMul column")->check(CLI::Range(1, 256));
  CLI11_PARSE(app, argc, argv);
  rows = rows / 4 * 4;

  const F16WidenedKernels k = qforge::SelectF16Widened();
  if (!k.four) {
    fmt::print(stderr, "bench_matmul: this CPU has no widened F16 kernels (QFORGE_ISA or no AVX2)\n");
    return 1;
  }
  qforge::ThreadPool pool(threads);
  fmt::print("CPU: {}; F16 tile: {}\n\n", qforge::IsaName(qforge::BestIsa()),
             k.tile ? fmt::format("{} weight rows x 4 activation rows", k.tile_rows) : std::string("none"));
  fmt::print("| n_in x n_out | rows | four-row GFLOP/s | tile GFLOP/s | tile / four-row | MatMul GFLOP/s ({} thread{}) |\n",
             threads, threads == 1 ? "" : "s");
  fmt::print("|---|---:|---:|---:|---:|---:|\n");
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  // SmolLM2-135M's prompt matmuls: q/o, k/v, gate/up, down.
  for (const Shape s : {Shape{576, 576}, Shape{576, 192}, Shape{576, 1536}, Shape{1536, 576}}) {
    std::vector<uint16_t> w(static_cast<size_t>(s.n_in * s.n_out));
    for (auto& v : w) v = qforge::Fp32ToFp16(0.05f * normal(rng));
    std::vector<float> x(static_cast<size_t>(s.n_in * rows));
    for (auto& v : x) v = normal(rng);
    qforge::QuantizedRows q;
    qforge::QuantizeRows(x.data(), rows, s.n_in, s.n_in, qforge::GgmlType::F16, q, pool);
    std::vector<float> y_four(static_cast<size_t>(rows * s.n_out)), y_tile(y_four.size()), y_mm(y_four.size());

    const double flops = 2.0 * static_cast<double>(s.n_in * s.n_out * rows);
    std::vector<double> four_s, tile_s, mm_s;
    for (int rep = 0; rep <= reps; ++rep) {  // rep 0 warms up and checks
      const double f = Seconds([&] { KernelLoop(k, false, s, w.data(), q.widened.data(), q.widened_stride, rows, y_four.data()); });
      const double t = k.tile ? Seconds([&] {
        KernelLoop(k, true, s, w.data(), q.widened.data(), q.widened_stride, rows, y_tile.data());
      }) : 0.0;
      qforge::WeightMatrix m;
      m.type = qforge::GgmlType::F16;
      m.data = reinterpret_cast<const uint8_t*>(w.data());
      m.n_in = s.n_in;
      m.n_out = s.n_out;
      m.row_bytes = static_cast<size_t>(s.n_in) * sizeof(uint16_t);
      m.ops = qforge::FindFormatOps(qforge::GgmlType::F16);
      const double mm = Seconds([&] {
        qforge::QuantizeRows(x.data(), rows, s.n_in, s.n_in, qforge::GgmlType::F16, q, pool);
        qforge::MatMul(m, q, y_mm.data(), s.n_out, pool);
      });
      if (rep == 0) {
        const bool tile_ok = !k.tile || std::memcmp(y_four.data(), y_tile.data(), y_four.size() * sizeof(float)) == 0;
        const bool mm_ok = std::memcmp(y_four.data(), y_mm.data(), y_four.size() * sizeof(float)) == 0;
        if (!tile_ok || !mm_ok) {
          fmt::print(stderr, "bench_matmul: {}x{}: {} differs from the four-row kernel\n", s.n_in, s.n_out,
                     tile_ok ? "MatMul" : "the tile");
          return 1;
        }
        continue;
      }
      four_s.push_back(f);
      tile_s.push_back(t);
      mm_s.push_back(mm);
    }
    const double four = flops / Median(four_s) / 1e9;
    const double tile = k.tile ? flops / Median(tile_s) / 1e9 : 0.0;
    fmt::print("| {} x {} | {} | {:.1f} | {} | {} | {:.1f} |\n", s.n_in, s.n_out, rows, four,
               k.tile ? fmt::format("{:.1f}", tile) : "-", k.tile ? fmt::format("{:.2f}", tile / four) : "-",
               flops / Median(mm_s) / 1e9);
  }
  return 0;
}

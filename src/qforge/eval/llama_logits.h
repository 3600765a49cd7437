// llama.cpp's --kl-divergence-base file: the token stream it evaluated and, for every scored
// position, the baseline's log-probabilities over the vocabulary, quantized to 16 bits
// (per row: float scale, float minimum, then one uint16 per token; log p = scale * v + min).
// Layout: "_logits_", u32 n_ctx, i32 n_vocab, i32 n_chunk, i32 tokens[n_chunk * n_ctx], then
// n_chunk * (n_ctx - 1 - n_ctx / 2) rows of 2 * ((n_vocab + 1) / 2) + 4 uint16.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "qforge/core/status.h"
#include "qforge/io/mapped_file.h"

namespace qforge {

// Base log-probs at or below this are clamped values in llama.cpp's files (logits more than 16
// below the maximum are stored at the clamp); llama.cpp's KLD skips them, and so do we.
inline constexpr double kLlamaBaseLogProbFloor = -16.0;

class LlamaLogitsFile {
 public:
  static Expected<LlamaLogitsFile> Open(const std::string& path);

  int n_ctx() const { return n_ctx_; }
  int n_vocab() const { return n_vocab_; }
  int n_chunks() const { return n_chunks_; }
  int scored_per_chunk() const { return n_ctx_ - 1 - n_ctx_ / 2; }
  std::span<const int32_t> tokens() const { return tokens_; }
  // Baseline log-probabilities of scored row `row` of chunk `chunk` (n_vocab values).
  void LogProbs(int chunk, int row, float* out) const;

 private:
  std::shared_ptr<MappedFile> file_;
  int n_ctx_ = 0, n_vocab_ = 0, n_chunks_ = 0;
  std::vector<int32_t> tokens_;
  const uint8_t* rows_ = nullptr;
  size_t row_bytes_ = 0;
};

}  // namespace qforge

#include "qforge/eval/llama_logits.h"

#include <fmt/format.h>

#include <cstring>

namespace qforge {

Expected<LlamaLogitsFile> LlamaLogitsFile::Open(const std::string& path) {
  auto mapped = MappedFile::Open(path);
  if (!mapped) return mapped.error();
  LlamaLogitsFile f;
  f.file_ = *mapped;
  const uint8_t* p = f.file_->data();
  const size_t size = f.file_->size();
  if (size < 20 || std::memcmp(p, "_logits_", 8) != 0) {
    return MakeError(path + ": not a llama.cpp logits file (magic \"_logits_\" missing)");
  }
  uint32_t n_ctx;
  int32_t n_vocab, n_chunks;
  std::memcpy(&n_ctx, p + 8, 4);
  std::memcpy(&n_vocab, p + 12, 4);
  std::memcpy(&n_chunks, p + 16, 4);
  if (n_ctx < 4 || n_ctx > (1u << 24) || n_vocab < 2 || n_vocab > (1 << 24) || n_chunks < 1 || n_chunks > (1 << 24)) {
    return MakeError(fmt::format("{}: implausible header (n_ctx {}, n_vocab {}, chunks {})", path, n_ctx, n_vocab, n_chunks));
  }
  f.n_ctx_ = static_cast<int>(n_ctx);
  f.n_vocab_ = n_vocab;
  f.n_chunks_ = n_chunks;
  const uint64_t n_tokens = static_cast<uint64_t>(n_ctx) * static_cast<uint64_t>(n_chunks);
  f.row_bytes_ = (2 * ((static_cast<size_t>(n_vocab) + 1) / 2) + 4) * sizeof(uint16_t);
  const uint64_t expected = 20 + 4 * n_tokens + static_cast<uint64_t>(n_chunks) * f.scored_per_chunk() * f.row_bytes_;
  if (size != expected) {
    return MakeError(fmt::format("{}: size {} bytes, expected {} for {} chunks of {} tokens over {} tokens (truncated?)",
                                 path, size, expected, n_chunks, n_ctx, n_vocab));
  }
  f.tokens_.resize(static_cast<size_t>(n_tokens));
  std::memcpy(f.tokens_.data(), p + 20, n_tokens * 4);
  for (int32_t t : f.tokens_) {
    if (t < 0 || t >= n_vocab) return MakeError(fmt::format("{}: token id {} outside the vocabulary", path, t));
  }
  f.rows_ = p + 20 + 4 * n_tokens;
  return f;
}

void LlamaLogitsFile::LogProbs(int chunk, int row, float* out) const {
  const uint8_t* r = rows_ + (static_cast<size_t>(chunk) * scored_per_chunk() + row) * row_bytes_;
  float scale, min_log_prob;
  std::memcpy(&scale, r, 4);
  std::memcpy(&min_log_prob, r + 4, 4);
  const auto* q = reinterpret_cast<const uint16_t*>(r + 8);
  for (int i = 0; i < n_vocab_; ++i) out[i] = scale * q[i] + min_log_prob;
}

}  // namespace qforge

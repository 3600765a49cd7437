// Importance matrices: for every weight matrix, the sum over calibration tokens of the squared
// input activation of each input channel (and the token count), so quantizers can weight the
// rounding error of each column by how strongly it is driven. Stored in llama.cpp's GGUF
// imatrix format (tensors "<weight>.in_sum2" and "<weight>.counts"), so files from either tool
// work in both.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "qforge/core/status.h"
#include "qforge/kernels/matmul.h"

namespace qforge {

struct ImatrixEntry {
  std::vector<double> sum_sq;  // per input channel
  int64_t count = 0;           // activation rows accumulated
};

class ImatrixCollector {
 public:
  // Accumulates one multiplication's input rows for weight `w`.
  void Observe(const WeightMatrix& w, const float* x, int64_t n_rows);
  // Fails when a weight saw non-finite activations.
  Status CheckFinite() const;
  const std::map<std::string, ImatrixEntry>& entries() const { return entries_; }

 private:
  std::map<std::string, ImatrixEntry> entries_;
};

struct ImatrixFileInfo {
  std::vector<std::string> datasets;
  uint32_t chunk_count = 0;
  uint32_t chunk_size = 0;
};

// Writes the collected statistics (atomically: temporary file, then rename).
Status SaveImatrix(const std::string& path, const std::map<std::string, ImatrixEntry>& entries,
                   const ImatrixFileInfo& info);

// Per-channel mean squared activation of each weight, read from a GGUF imatrix file.
struct Imatrix {
  std::map<std::string, std::vector<float>> importance;  // weight name -> mean x^2 per column
  ImatrixFileInfo info;
  const std::vector<float>* Find(const std::string& weight_name) const;
};
Expected<Imatrix> LoadImatrix(const std::string& path);

// The same means computed from collected statistics, without a file in between.
Imatrix MeanImportance(const std::map<std::string, ImatrixEntry>& entries);

}  // namespace qforge

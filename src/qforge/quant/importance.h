// Where each weight matrix's column importance comes from when it is quantized. The fitted
// quantizers minimize sum_j imp_j (w_j - w'_j)^2 per row, and imp_j should be the mean square
// of the activation that multiplies column j. An importance matrix measures it on text; where
// one has no entry (or none is given) it is worked out from the model's own weights instead
// (docs/decisions.md, "Importance without a measurement"):
//   measured   the imatrix entry of the tensor.
//   derived    the output head, whose input llama.cpp's imatrix files leave out: the last
//              block's FFN input statistics carried through the two RMSNorm gains,
//              imp_j = imp_ffn_j * (g_out_j / g_ffn_j)^2.
//   estimated  without any measurement. The matrices that read the normalized residual stream
//              (attention Q/K/V, FFN gate/up, output head): s_j = g_j^2 * e_j, g the norm's
//              gain and e_j the token embedding's mean square in channel j relative to the
//              mean over channels (the residual stream starts as the embedding, and its loud
//              channels stay loud). Attention output: the energy of the value row each column
//              copies, sum_k W_v[i,k]^2 s_k. FFN down (SiLU-gated FFNs): E[silu(g_i)^2] E[u_i^2]
//              for gate and up pre-activations taken as independent normals with those
//              variances.
//   none       every column the same (the input embedding, and what the rules above cannot
//              reach).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qforge/calib/imatrix.h"
#include "qforge/core/status.h"
#include "qforge/quant/tensor_source.h"

namespace qforge {

// kSelfMeasured: measured on text the model sampled itself (calib/self_calibration.h).
// QuantizeModel reports it in place of kMeasured when QuantizeOptions::imatrix_self_sampled is
// set; the planner itself never returns it.
enum class ImportanceOrigin { kNone, kMeasured, kDerived, kEstimated, kSelfMeasured };
const char* ImportanceOriginName(ImportanceOrigin origin);

struct ColumnImportance {
  ImportanceOrigin origin = ImportanceOrigin::kNone;
  std::vector<float> values;  // one per input column; empty for kNone
};

class ImportancePlanner {
 public:
  // `imatrix` may be null. With `fill_gaps` false only measured importance is used (the
  // behaviour before derived and estimated importance existed, kept for comparisons).
  ImportancePlanner(TensorSource& source, const Imatrix* imatrix, bool fill_gaps);

  // Reads what the estimates need from the whole model (the token embedding's channel energy)
  // now, while the caller holds no other tensor, so that peak memory stays one tensor.
  Status Prepare();

  // The importance for tensor `name` whose rows have `row_len` columns. Reads the norm gains
  // it needs from the source.
  Expected<ColumnImportance> For(const std::string& name, int64_t row_len);

 private:
  Expected<std::vector<float>> ReadVector(const std::string& name, int64_t expected_len);
  Expected<std::vector<float>> EmbeddingChannelEnergy(int64_t n_embd);
  std::string LastBlockFfnInput() const;  // imatrix name of the last block's FFN input entry
  // g^2 * e for the stream a norm writes (empty when the norm or embedding is missing).
  Expected<std::vector<double>> StreamEnergy(const std::string& norm, int64_t n_embd);
  // sum_k W[i,k]^2 s_k for every row i of `matrix` (empty when missing or of another width).
  Expected<std::vector<double>> RowEnergies(const std::string& matrix, const std::vector<double>& s);
  Expected<ColumnImportance> FfnHiddenEstimate(const std::string& block, int64_t row_len);
  Expected<ColumnImportance> AttentionOutputEstimate(const std::string& block, int64_t row_len);

  TensorSource& source_;
  const Imatrix* imatrix_;
  bool fill_gaps_;
  bool tied_embeddings_ = true;
  bool silu_gated_ffn_ = false;  // llama's FFN: down(silu(gate x) * up x)
  int n_blocks_ = 0;
  int64_t n_embd_ = 0;
  int64_t n_head_ = 0;
  std::vector<float> embedding_energy_;  // computed on first use
  bool embedding_read_ = false;
};

// The RMSNorm whose output tensor `name` multiplies ("" when it reads something else).
std::string NormFeeding(const std::string& name, bool tied_embeddings);

// E[silu(x)^2] for x ~ N(0, sigma^2), silu(x) = x / (1 + exp(-x)).
double SiluSquareMean(double sigma);

}  // namespace qforge

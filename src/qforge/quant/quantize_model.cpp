#include "qforge/quant/quantize_model.h"

#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <mutex>

#include "qforge/core/thread_pool.h"
#include "qforge/formats/registry.h"
#include "qforge/io/gguf_writer.h"
#include "qforge/quant/importance.h"
#include "qforge/quant/quantizer.h"

namespace qforge {

namespace {

bool IsFloatType(GgmlType t) {
  return t == GgmlType::F32 || t == GgmlType::F16 || t == GgmlType::BF16;
}

ModelShape ShapeFromMetadata(const TensorSource& source) {
  ModelShape s;
  std::string arch;
  for (const auto& [k, v] : source.metadata()) {
    if (k == "general.architecture" && TypeOf(v) == GgufType::STRING) arch = std::get<std::string>(v);
  }
  for (const auto& [k, v] : source.metadata()) {
    const auto i = AsInteger(v);
    if (!i) continue;
    if (k == arch + ".block_count") s.n_layer = static_cast<int>(*i);
    if (k == arch + ".attention.head_count") s.n_head = static_cast<int>(*i);
    if (k == arch + ".attention.head_count_kv") s.n_head_kv = static_cast<int>(*i);
  }
  if (s.n_head_kv == 0) s.n_head_kv = s.n_head;
  s.tied_embeddings = true;
  for (const auto& t : source.tensors()) {
    if (t.name == "output.weight") s.tied_embeddings = false;
  }
  return s;
}

struct Plan {
  GgmlType type;
  bool quantized;  // fitted by a quantizer (vs converted between float types)
};

Expected<Plan> PlanTensor(const TensorSource::Tensor& t, const ModelShape& shape,
                          const QuantizeOptions& opt) {
  if (!IsQuantizableTensor(t.name, t.shape.size())) {
    return Plan{IsFloatType(t.type) ? t.type : GgmlType::F32, false};
  }
  const bool user_imatrix = opt.imatrix != nullptr && !opt.imatrix_self_sampled;
  GgmlType type = MixTensorType(opt.mix, t.name, shape, user_imatrix, opt.pure);
  for (const auto& o : opt.overrides) {
    if (std::regex_search(t.name, o.regex)) {
      type = o.type;
      break;
    }
  }
  type = FallbackForRowLength(type, t.shape[0]);
  return Plan{type, !IsFloatType(type)};
}

// Only the matrices inside the transformer blocks, and only where the importance was not
// measured (on the user's text or on the model's own samples): on SmolLM2 and on the tiny
// reference model, protecting each group's largest weight lowers KL divergence there, while for
// the token embedding and the output head (which write and read the logits' space directly) it
// does not (docs/decisions.md, "Outlier protection").
bool ProtectsOutliers(const std::string& name, ImportanceOrigin importance, const QuantizeOptions& opt) {
  return opt.protect_outliers && importance != ImportanceOrigin::kMeasured && name.starts_with("blk.");
}

}  // namespace

double QuantizeReport::bits_per_weight() const {
  uint64_t bytes = 0;
  for (const auto& t : tensors) bytes += t.bytes;
  return n_parameters ? 8.0 * static_cast<double>(bytes) / static_cast<double>(n_parameters) : 0.0;
}

Expected<TensorTypeOverride> ParseTensorTypeOverride(const std::string& spec) {
  const size_t eq = spec.rfind('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
    return MakeError(fmt::format("--tensor-type '{}': expected REGEX=TYPE", spec));
  }
  const std::string type_name = spec.substr(eq + 1);
  const auto type = GgmlTypeFromName(type_name);
  if (!type || (!IsFloatType(*type) && FindRowQuantizer(*type) == nullptr)) {
    return MakeError(fmt::format("--tensor-type '{}': '{}' is not a type qforge can write", spec, type_name));
  }
  TensorTypeOverride o;
  o.pattern = spec.substr(0, eq);
  try {
    o.regex = std::regex(o.pattern);
  } catch (const std::regex_error& e) {
    return MakeError(fmt::format("--tensor-type '{}': bad regular expression: {}", spec, e.what()));
  }
  o.type = *type;
  return o;
}

Expected<QuantizeReport> QuantizeModel(TensorSource& source, const std::string& output_path,
                                       const QuantizeOptions& opt, const ProgressFn& progress) {
  using Clock = std::chrono::steady_clock;
  const auto t_start = Clock::now();
  const ModelShape shape = ShapeFromMetadata(source);
  const auto& tensors = source.tensors();

  std::vector<Plan> plans;
  for (const auto& t : tensors) {
    auto plan = PlanTensor(t, shape, opt);
    if (!plan) return plan.error();
    if (plan->quantized && !opt.reference_quantizer && FindRowQuantizer(plan->type) == nullptr) {
      return MakeError(fmt::format("tensor '{}': qforge cannot quantize to {}", t.name, GgmlTypeName(plan->type)));
    }
    if (FindFormatOps(plan->type) == nullptr) {
      return MakeError(fmt::format("tensor '{}': type {} is not supported", t.name, GgmlTypeName(plan->type)));
    }
    if (plan->quantized && opt.imatrix) {
      const std::vector<float>* imp = opt.imatrix->Find(t.name);
      if (imp && static_cast<int64_t>(imp->size()) != t.shape[0]) {
        return MakeError(fmt::format("importance matrix entry '{}' has {} columns, the tensor has {}",
                                     t.name, imp->size(), t.shape[0]));
      }
    }
    plans.push_back(*plan);
  }

  GgufWriter writer(output_path);
  for (const auto& [key, value] : source.metadata()) {
    if (key != "general.alignment") writer.SetMetadata(key, value);
  }
  writer.SetMetadata("general.quantization_version", uint32_t{2});
  writer.SetMetadata("general.file_type", opt.mix.file_type);
  for (size_t i = 0; i < tensors.size(); ++i) {
    QF_RETURN_IF_ERROR(writer.AddTensor(tensors[i].name, plans[i].type, tensors[i].shape));
  }
  QF_RETURN_IF_ERROR(writer.Begin());

  ThreadPool pool(opt.threads);
  ImportancePlanner importance(source, opt.imatrix, opt.fill_importance_gaps);
  if (!opt.reference_quantizer) QF_RETURN_IF_ERROR(importance.Prepare());
  QuantizeReport report;
  std::vector<float> values;
  std::vector<uint8_t> out;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto t0 = Clock::now();
    const auto& t = tensors[i];
    const Plan& plan = plans[i];
    const FormatOps* out_ops = FindFormatOps(plan.type);
    TensorReport tr;
    tr.name = t.name;
    tr.type = plan.type;
    tr.quantized = plan.quantized;
    const int64_t row_len = t.shape[0];
    int64_t n_elements = 1;
    for (int64_t d : t.shape) n_elements *= d;
    const int64_t n_rows = row_len ? n_elements / row_len : 0;
    tr.n_elements = n_elements;
    tr.bytes = writer.TensorBytes(i);
    std::span<const uint8_t> raw = source.RawBytes(i);
    if (plan.type == t.type && !plan.quantized && !raw.empty()) {
      QF_RETURN_IF_ERROR(writer.WriteTensorData(raw));  // unchanged float tensor: copy the bytes
    } else {
      QF_RETURN_IF_ERROR(source.ReadFloat(i, values));
      out.assign(static_cast<size_t>(tr.bytes), 0);
      const size_t row_bytes = static_cast<size_t>(tr.bytes / static_cast<uint64_t>(std::max<int64_t>(1, n_rows)));
      const RowQuantizerFn fitted = FindRowQuantizer(plan.type);
      const std::vector<float>* imp = (plan.quantized && opt.imatrix) ? opt.imatrix->Find(t.name) : nullptr;
      ColumnImportance columns;
      if (plan.quantized && !opt.reference_quantizer) {
        auto c = importance.For(t.name, row_len);
        if (!c) return c.error();
        columns = std::move(*c);
      }
      // The reference quantizers weight by the imatrix entry alone, when they weight at all.
      tr.importance = opt.reference_quantizer && imp ? ImportanceOrigin::kMeasured : columns.origin;
      if (opt.imatrix_self_sampled && tr.importance == ImportanceOrigin::kMeasured) {
        tr.importance = ImportanceOrigin::kSelfMeasured;
      }
      RowWeighting weighting;
      weighting.importance = columns.values.empty() ? nullptr : columns.values.data();
      weighting.protect_group_max = ProtectsOutliers(t.name, columns.origin, opt);
      std::mutex sums_mutex;
      double err_num = 0.0, err_den = 0.0;
      pool.ParallelFor(static_cast<size_t>(n_rows), [&](size_t begin, size_t end, int) {
        std::vector<float> back(static_cast<size_t>(row_len));
        double num = 0.0, den = 0.0;
        for (size_t r = begin; r < end; ++r) {
          const float* x = values.data() + r * row_len;
          uint8_t* dst = out.data() + r * row_bytes;
          if (!plan.quantized || opt.reference_quantizer || fitted == nullptr) {
            out_ops->quantize_row_ref(x, dst, row_len, imp ? imp->data() : nullptr);
          } else {
            fitted(x, dst, row_len, weighting);
          }
          if (!plan.quantized) continue;
          out_ops->dequantize_row(dst, back.data(), row_len);
          for (int64_t j = 0; j < row_len; ++j) {
            const double weight = imp ? (*imp)[j] : 1.0;
            const double diff = static_cast<double>(x[j]) - back[j];
            num += weight * diff * diff;
            den += weight * static_cast<double>(x[j]) * x[j];
          }
        }
        std::lock_guard<std::mutex> lock(sums_mutex);
        err_num += num;
        err_den += den;
      }, 4);
      tr.relative_error = err_den > 0.0 ? err_num / err_den : 0.0;
      QF_RETURN_IF_ERROR(writer.WriteTensorData(out));
    }
    source.Release(i);
    tr.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    report.n_parameters += static_cast<uint64_t>(n_elements);
    report.tensors.push_back(tr);
    if (progress) progress(i + 1, tensors.size());
  }
  QF_RETURN_IF_ERROR(writer.Finish());
  for (const auto& tr : report.tensors) report.output_bytes += tr.bytes;
  report.seconds = std::chrono::duration<double>(Clock::now() - t_start).count();
  return report;
}

}  // namespace qforge

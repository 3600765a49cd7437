#include "qforge/eval/model_runner.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <optional>

#include "qforge/eval/perplexity.h"
#include "qforge/model/chat_template.h"
#include "qforge/model/context.h"
#include "qforge/model/generate.h"

namespace qforge {

namespace {

using Clock = std::chrono::steady_clock;

// Compares the candidate's logits with the baseline's stored distribution at one position.
struct PositionComparison {
  double kld = 0.0;
  bool same_top = false;
  double log_prob = 0.0;
};

// Scores items in one sequence of the context. Generation is split in three steps so that a
// caller can advance several scorers' generations together (one DecodeStep for all).
class ItemScorer {
 public:
  ItemScorer(const Model& model, const Tokenizer& tokenizer, InferenceContext& ctx, int seq, int top_k)
      : model_(model), tokenizer_(tokenizer), ctx_(ctx), seq_(seq), top_k_(top_k), n_vocab_(model.config().n_vocab) {}

  int seq() const { return seq_; }
  // Forward-pass rows this scorer has asked for (generation steps are counted by the caller).
  int64_t tokens_evaluated() const { return tokens_evaluated_; }

  // The teacher-forced and multiple-choice measures; the prompt is left cached for generation.
  Status ScoreWithoutGenerating(const SuiteItem& item, const ItemRun* base, ItemRun& out) {
    out.id = item.id;
    prompt_ = PromptTokens(item, model_, tokenizer_);
    if (prompt_.empty()) return MakeError(fmt::format("item '{}': empty prompt", item.id));
    if (!item.reference.empty()) QF_RETURN_IF_ERROR(TeacherForced(item, prompt_, base, out));
    if (!item.options.empty()) QF_RETURN_IF_ERROR(Choice(item, prompt_, out));
    return Status::Ok();
  }

  // Evaluates the prompt and picks the first generated token: the token to evaluate next in
  // this scorer's sequence, or nullopt when generation already ended (then call
  // FinishGeneration).
  Expected<std::optional<int32_t>> StartGeneration(const SuiteItem& item) {
    QF_RETURN_IF_ERROR(CheckFits(item, prompt_.size() + item.max_tokens));
    GenerateOptions options;
    options.max_tokens = item.max_tokens;
    options.sampler.temperature = 0.0f;  // greedy: the same model gives the same answer
    options.stop = item.stop;
    stream_.emplace(tokenizer_, options);
    QF_RETURN_IF_ERROR(EvaluateReusingPrefix(prompt_, prompt_.size() - 1));
    return stream_->Step(std::span<const float>(logits_.data(), n_vocab_));
  }

  // The logits after the token StartGeneration or the previous Continue returned.
  std::optional<int32_t> Continue(std::span<const float> logits) { return stream_->Step(logits); }

  void FinishGeneration(const SuiteItem& item, ItemRun& out) {
    // The generated tokens' entries are not tracked: keep only the prompt's.
    ctx_.Truncate(seq_, static_cast<int>(prompt_.size()));
    cached_ = prompt_;
    out.generated = true;
    out.text = stream_->text();
    out.generated_tokens = static_cast<int>(stream_->tokens().size());
    stream_.reset();
    if (item.check.kind != AnswerCheck::Kind::kNone) {
      const GradeResult grade = GradeAnswer(item.check, out.text);
      out.graded = grade.graded;  // false when it could not be graded at all (no sandbox)
      out.pass = grade.pass;
      out.detail = grade.detail;
    }
  }

 private:
  Status CheckFits(const SuiteItem& item, size_t n) const {
    if (n > static_cast<size_t>(ctx_.n_ctx())) {
      return MakeError(fmt::format("item '{}' needs {} positions; the eval context holds {}", item.id, n, ctx_.n_ctx()));
    }
    return Status::Ok();
  }

  Status TeacherForced(const SuiteItem& item, const std::vector<int32_t>& prompt, const ItemRun* base, ItemRun& out) {
    const std::vector<int32_t> ref = tokenizer_.Encode(item.reference, false, false);
    if (ref.empty()) return Status::Ok();
    std::vector<int32_t> seq = prompt;
    seq.insert(seq.end(), ref.begin(), ref.end());
    QF_RETURN_IF_ERROR(CheckFits(item, seq.size()));
    if (base && base->answer_dists.size() != ref.size()) {
      return MakeError(fmt::format("item '{}': the baseline scored {} answer tokens, the candidate's tokenizer gives {}"
                                   " (the two models must share a vocabulary)", item.id, base->answer_dists.size(), ref.size()));
    }
    QF_RETURN_IF_ERROR(EvaluateReusingPrefix(seq, prompt.size() - 1));
    double sum_lp = 0.0, sum_kld = 0.0;
    int same = 0;
    for (size_t j = 0; j < ref.size(); ++j) {
      std::span<const float> row(logits_.data() + j * n_vocab_, n_vocab_);
      if (!base) {
        out.answer_dists.push_back(SummarizeLogits(row, ref[j], top_k_));
        sum_lp += out.answer_dists.back().target_log_prob;
      } else {
        const TokenComparison c = CompareToBaseline(base->answer_dists[j], row, ref[j]);
        sum_lp += c.cand_target_log_prob;
        sum_kld += c.kld;
        same += c.same_top;
      }
    }
    out.answer_tokens = static_cast<int>(ref.size());
    out.answer_logprob = sum_lp / ref.size();
    if (base) {
      out.answer_kld = sum_kld / ref.size();
      out.answer_top1 = 100.0 * same / ref.size();
    }
    return Status::Ok();
  }

  Status Choice(const SuiteItem& item, const std::vector<int32_t>& prompt, ItemRun& out) {
    QF_RETURN_IF_ERROR(CheckFits(item, prompt.size()));
    QF_RETURN_IF_ERROR(EvaluateReusingPrefix(prompt, prompt.size() - 1));
    const std::vector<float> after_prompt(logits_.begin(), logits_.begin() + n_vocab_);
    for (const std::string& option : item.options) {
      const std::vector<int32_t> tokens = tokenizer_.Encode(option, false, false);
      if (tokens.empty()) return MakeError(fmt::format("item '{}': an option is empty after tokenization", item.id));
      QF_RETURN_IF_ERROR(CheckFits(item, prompt.size() + tokens.size()));
      double lp = LogSoftmaxAt(after_prompt.data(), n_vocab_, tokens[0]);
      if (tokens.size() > 1) {
        std::vector<int32_t> seq = prompt;
        seq.insert(seq.end(), tokens.begin(), tokens.end() - 1);
        QF_RETURN_IF_ERROR(EvaluateReusingPrefix(seq, prompt.size()));
        for (size_t j = 1; j < tokens.size(); ++j) lp += LogSoftmaxAt(logits_.data() + (j - 1) * n_vocab_, n_vocab_, tokens[j]);
      }
      out.option_logprobs.push_back(lp);
    }
    out.chosen = static_cast<int>(std::max_element(out.option_logprobs.begin(), out.option_logprobs.end()) -
                                  out.option_logprobs.begin());
    out.graded = item.answer_index >= 0;
    out.pass = out.chosen == item.answer_index;
    if (!out.pass && out.graded) out.detail = fmt::format("chose option {}", out.chosen);
    return Status::Ok();
  }

  // Items of a suite often share a prefix (a system prompt, the chat template, repeated shots)
  // and the context still holds the previous sequence, so only the tokens past the common
  // prefix are evaluated. Every row is computed independently of how a sequence is split into
  // batches, so the results are bit-identical to evaluating from scratch.
  //
  // Truncates the context to the longest prefix of `seq` it holds, but never past `need_from`
  // (logits are wanted from there on); returns that length.
  size_t ReusePrefix(const std::vector<int32_t>& seq, size_t need_from) {
    size_t common = 0;
    const size_t limit = std::min({cached_.size(), need_from, static_cast<size_t>(ctx_.n_past(seq_))});
    while (common < limit && cached_[common] == seq[common]) ++common;
    ctx_.Truncate(seq_, static_cast<int>(common));
    cached_.resize(common);
    return common;
  }

  // Evaluates `seq` with logits for rows [logits_from, seq.size()) in logits_, row 0 first.
  Status EvaluateReusingPrefix(const std::vector<int32_t>& seq, size_t logits_from) {
    const size_t reused = ReusePrefix(seq, logits_from);
    tokens_evaluated_ += static_cast<int64_t>(seq.size() - reused);
    Status st = ctx_.Evaluate(seq_, std::span<const int32_t>(seq).subspan(reused), logits_from - reused, &logits_);
    if (!st.ok()) {
      Forget();
      return st;
    }
    cached_ = seq;
    return Status::Ok();
  }

  void Forget() {
    ctx_.Truncate(seq_, 0);
    cached_.clear();
  }

  const Model& model_;
  const Tokenizer& tokenizer_;
  InferenceContext& ctx_;
  int seq_;                      // this scorer's sequence in ctx_
  std::vector<int32_t> cached_;  // the tokens whose keys and values the sequence holds
  std::vector<int32_t> prompt_;  // the current item's
  std::optional<GenerationStream> stream_;
  int64_t tokens_evaluated_ = 0;
  int top_k_;
  int n_vocab_;
  std::vector<float> logits_;
};

// Scores a suite's items, each scorer (a sequence of the context) taking the next item when
// it is free. Measures that need no generation run item by item; generations advance
// together, one DecodeStep per token for all busy scorers. Every row's numbers are independent
// of the rows beside it, so the results equal scoring the items one by one.
Status RunSuite(const Suite& suite, const SuiteRun* base_suite, InferenceContext& ctx, std::vector<ItemScorer>& scorers,
                SuiteRun& out, const std::function<void()>& item_done) {
  std::vector<ItemRun>& results = out.items;
  results.assign(suite.items.size(), ItemRun{});
  int64_t evaluated_before = 0;
  for (const ItemScorer& s : scorers) evaluated_before += s.tokens_evaluated();
  int64_t decoded = 0;
  struct Busy {
    size_t item;
    int32_t next_token;
  };
  std::vector<std::optional<Busy>> busy(scorers.size());
  size_t next_item = 0;
  // Gives a free scorer items until one needs generation steps or none are left.
  auto take_items = [&](size_t k) -> Status {
    ItemScorer& scorer = scorers[k];
    while (!busy[k] && next_item < suite.items.size()) {
      const size_t i = next_item++;
      const SuiteItem& item = suite.items[i];
      QF_RETURN_IF_ERROR(scorer.ScoreWithoutGenerating(item, base_suite ? &base_suite->items[i] : nullptr, results[i]));
      if (item.max_tokens > 0) {
        auto first = scorer.StartGeneration(item);
        if (!first) return MakeError(fmt::format("item '{}': {}", item.id, first.error().message));
        if (*first) {
          busy[k] = Busy{i, **first};
          break;
        }
        scorer.FinishGeneration(item, results[i]);
      }
      item_done();
    }
    return Status::Ok();
  };
  std::vector<int> seqs;
  std::vector<int32_t> tokens;
  std::vector<size_t> stepping;
  std::vector<float> logits;
  const size_t n_vocab = static_cast<size_t>(ctx.model().config().n_vocab);
  for (;;) {
    for (size_t k = 0; k < scorers.size(); ++k) QF_RETURN_IF_ERROR(take_items(k));
    seqs.clear();
    tokens.clear();
    stepping.clear();
    for (size_t k = 0; k < scorers.size(); ++k) {
      if (!busy[k]) continue;
      stepping.push_back(k);
      seqs.push_back(scorers[k].seq());
      tokens.push_back(busy[k]->next_token);
    }
    if (stepping.empty()) break;
    QF_RETURN_IF_ERROR(ctx.DecodeStep(seqs, tokens, &logits));
    decoded += static_cast<int64_t>(stepping.size());
    for (size_t r = 0; r < stepping.size(); ++r) {
      const size_t k = stepping[r];
      const std::span<const float> row(logits.data() + r * n_vocab, n_vocab);
      const std::optional<int32_t> next = scorers[k].Continue(row);
      if (next) {
        busy[k]->next_token = *next;
        continue;
      }
      const size_t i = busy[k]->item;
      scorers[k].FinishGeneration(suite.items[i], results[i]);
      busy[k].reset();
      item_done();
    }
  }
  out.tokens_evaluated = decoded - evaluated_before;
  for (const ItemScorer& s : scorers) out.tokens_evaluated += s.tokens_evaluated();
  return Status::Ok();
}

// Positions the suites need at most: prompt plus the longest of reference, options and
// generation budget.
int ContextForSuites(const std::vector<Suite>& suites, const Model& model, const Tokenizer& tokenizer) {
  size_t need = 0;
  for (const Suite& s : suites) {
    for (const SuiteItem& item : s.items) {
      size_t extra = static_cast<size_t>(std::max(item.max_tokens, 0));
      if (!item.reference.empty()) extra = std::max(extra, tokenizer.Encode(item.reference, false, false).size());
      for (const auto& o : item.options) extra = std::max(extra, tokenizer.Encode(o, false, false).size());
      need = std::max(need, PromptTokens(item, model, tokenizer).size() + extra);
    }
  }
  return static_cast<int>(std::min<size_t>(need + 8, static_cast<size_t>(model.config().n_ctx_train)));
}

}  // namespace

std::vector<int32_t> PromptTokens(const SuiteItem& item, const Model& model, const Tokenizer& tokenizer) {
  const bool add_bos = tokenizer.add_bos_by_default();
  if (item.chat && !model.config().chat_template.empty()) {
    auto tmpl = DetectChatTemplate(model.config().chat_template);
    if (tmpl) {
      std::vector<ChatMessage> messages;
      if (!item.system.empty()) messages.push_back({"system", item.system});
      messages.push_back({"user", item.prompt});
      return tokenizer.Encode(ApplyChatTemplate(*tmpl, messages, true), add_bos && !tmpl->bos_in_template, true);
    }
  }
  // No (recognised) chat template: the plain prompt, so base models and test models still run.
  return tokenizer.Encode(item.prompt, add_bos, false);
}

size_t CountWork(const RunInputs& inputs) {
  size_t n = 0;
  if (!inputs.text_tokens.empty()) {
    const size_t chunks = inputs.text_tokens.size() / static_cast<size_t>(inputs.n_ctx);
    n += inputs.max_chunks > 0 ? std::min(chunks, static_cast<size_t>(inputs.max_chunks)) : chunks;
  }
  if (inputs.suites) {
    for (const Suite& s : *inputs.suites) n += s.items.size();
  }
  return n;
}

Expected<ModelRun> RunModel(const Model& model, const Tokenizer& tokenizer, const RunInputs& inputs,
                            const ModelRun* baseline, ThreadPool& pool, const ProgressFn& progress) {
  const auto start = Clock::now();
  ModelRun run;
  const size_t total = CountWork(inputs);
  size_t done = 0;
  const int n_vocab = model.config().n_vocab;

  if (!inputs.text_tokens.empty()) {
    const auto text_start = Clock::now();
    InferenceContext ctx(model, inputs.n_ctx, inputs.n_ctx, pool);
    PerplexityOptions popt;
    popt.n_ctx = inputs.n_ctx;
    popt.max_chunks = inputs.max_chunks;
    if (tokenizer.add_bos_by_default()) popt.bos = tokenizer.bos_id();
    size_t position = 0;
    Status compare_status = Status::Ok();
    auto on_chunk = [&](int, const float* logits, const int32_t* targets, int n_scored) {
      for (int j = 0; j < n_scored; ++j, ++position) {
        std::span<const float> row(logits + static_cast<size_t>(j) * n_vocab, n_vocab);
        if (!baseline) {
          run.text.dists.push_back(SummarizeLogits(row, targets[j], inputs.top_k));
          continue;
        }
        if (position >= baseline->text.dists.size()) {
          compare_status = MakeError("the baseline run scored fewer text tokens than the candidate");
          return;
        }
        const TopKDistribution& base = baseline->text.dists[position];
        const TokenComparison c = CompareToBaseline(base, row, targets[j]);
        run.text.divergence.push_back({c.kld, c.same_top, -static_cast<double>(base.target_log_prob), -c.cand_target_log_prob});
      }
    };
    auto ppl = RunPerplexity(ctx, inputs.text_tokens, popt,
                             [&](size_t d, size_t) { if (progress) progress(done + d, total); }, on_chunk);
    if (!ppl) return ppl.error();
    QF_RETURN_IF_ERROR(compare_status);
    run.text.n_ctx = inputs.n_ctx;
    run.text.n_chunks = ppl->n_chunks;
    run.text.ppl = ppl->ppl;
    run.text.ppl_err = ppl->ppl_err;
    run.text.seconds = std::chrono::duration<double>(Clock::now() - text_start).count();
    done += static_cast<size_t>(ppl->n_chunks);
  }

  if (inputs.suites && !inputs.suites->empty()) {
    const int n_ctx = std::max(ContextForSuites(*inputs.suites, model, tokenizer), 16);
    // One generation step evaluates a token of every busy slot in one forward pass, so the
    // weights are read (and unpacked) once for all of them; the default 4 matches the
    // four-row dot kernels.
    InferenceContext ctx(model, n_ctx, 512, pool, std::max(1, inputs.generation_slots));
    std::vector<ItemScorer> scorers;
    for (int seq = 0; seq < ctx.n_seq(); ++seq) scorers.emplace_back(model, tokenizer, ctx, seq, inputs.top_k);
    for (size_t s = 0; s < inputs.suites->size(); ++s) {
      const Suite& suite = (*inputs.suites)[s];
      const SuiteRun* base_suite = baseline && s < baseline->suites.size() ? &baseline->suites[s] : nullptr;
      if (baseline && (!base_suite || base_suite->name != suite.name || base_suite->items.size() != suite.items.size())) {
        return MakeError(fmt::format("suite '{}': the baseline run does not cover the same items", suite.name));
      }
      const auto suite_start = Clock::now();
      SuiteRun suite_run;
      suite_run.name = suite.name;
      Status st = RunSuite(suite, base_suite, ctx, scorers, suite_run, [&] {
        if (progress) progress(++done, total);
      });
      if (!st.ok()) return MakeError(fmt::format("{}: {}", suite.path, st.error().message));
      suite_run.seconds = std::chrono::duration<double>(Clock::now() - suite_start).count();
      run.suites.push_back(std::move(suite_run));
    }
  }
  run.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return run;
}

}  // namespace qforge

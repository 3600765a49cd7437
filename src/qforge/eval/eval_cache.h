// The baseline's run on disk: a compact binary file (top-K distributions, not whole
// vocabularies) named by a key that hashes everything the results depend on: the model file's
// SHA-256, the inputs (text, suite items), the settings and the cache format version. A
// changed model, text, suite or setting gives another key, so a stale entry is never read.
#pragma once

#include <string>

#include "qforge/core/status.h"
#include "qforge/eval/eval_run.h"

namespace qforge {

// Null-free result: a missing file is not an error (`found` false); a corrupt one is.
struct CacheLookup {
  bool found = false;
  ModelRun run;
};
Expected<CacheLookup> LoadBaselineRun(const std::string& path);
// Writes atomically (temporary name, then rename).
Status SaveBaselineRun(const std::string& path, const ModelRun& run);

// The default cache directory: $QFORGE_CACHE_DIR, else $XDG_CACHE_HOME/qforge, else
// ~/.cache/qforge, else .qforge-cache.
std::string DefaultCacheDir();

}  // namespace qforge

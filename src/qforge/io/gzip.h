// Reading gzip-compressed data files (e.g. HumanEval ships as .jsonl.gz) with zlib.
#pragma once

#include <string>
#include <string_view>

#include "qforge/core/status.h"

namespace qforge {

// Whether the bytes start with the gzip magic (1f 8b).
bool IsGzip(std::string_view bytes);

// The decompressed contents of gzip data (all members, when several are concatenated).
// `name` only labels errors.
Expected<std::string> GunzipBytes(std::string_view compressed, const std::string& name);

// Reads a whole file; when it starts with the gzip magic (1f 8b) it is decompressed.
Expected<std::string> ReadFileMaybeGzip(const std::string& path);

}  // namespace qforge

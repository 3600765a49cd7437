// Writing a whole file so that readers see either the old file or the complete new one, never
// a half-written file: the bytes go to a temporary name in the same directory, then rename.
#pragma once

#include <string>
#include <string_view>

#include "qforge/core/status.h"

namespace qforge {

// Creates the parent directory if needed. Errors name the file.
Status WriteFileAtomically(const std::string& path, std::string_view content);

}  // namespace qforge

#include "qforge/io/atomic_file.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace qforge {

Status WriteFileAtomically(const std::string& path, std::string_view content) {
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  // The process id keeps two writers of the same file from sharing a temporary.
  const std::string tmp = fmt::format("{}.tmp-{}", path, static_cast<long>(getpid()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out.good()) {
      std::remove(tmp.c_str());
      return MakeError(fmt::format("{}: cannot write {}", path, tmp));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    return MakeError(fmt::format("{}: cannot rename {} into place: {}", path, tmp, why));
  }
  return Status::Ok();
}

}  // namespace qforge

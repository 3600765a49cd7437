// libFuzzer target for the GGUF reader: any input either parses, with every tensor inside the
// buffer and every metadata value printable, or gives an Error naming the input.
#include <cstddef>
#include <cstdint>
#include <string>

#include "qforge/io/gguf_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string kName = "fuzz.gguf";  // constant, not mutable state
  auto file = qforge::GgufFile::Parse(data, size, kName);
  if (!file.ok()) {
    if (file.error().message.rfind(kName + ": ", 0) != 0) __builtin_trap();
    return 0;
  }
  volatile uint8_t sink = 0;
  const auto base = reinterpret_cast<uintptr_t>(data);
  for (const auto& t : file->tensors()) {
    // The reader promises every tensor lies inside the buffer; ASan checks the reads too.
    const auto begin = reinterpret_cast<uintptr_t>(t.data);
    if (begin < base || begin - base > size || t.n_bytes > size - (begin - base)) __builtin_trap();
    if (t.n_bytes > 0) {
      sink = sink ^ t.data[0];
      sink = sink ^ t.data[t.n_bytes - 1];
    }
    if (file->FindTensor(t.name) != &t) __builtin_trap();
    sink = sink ^ static_cast<uint8_t>(t.n_elements() + t.n_rows());
  }
  size_t chars = 0;
  for (const auto& [key, value] : file->metadata()) {
    chars += qforge::FormatGgufValue(value).size();
    chars += qforge::FormatGgufValue(value, SIZE_MAX).size();
    if (file->Find(key) != &value) __builtin_trap();
    (void)file->GetInt(key);
    (void)file->GetFloat(key);
  }
  sink = sink ^ static_cast<uint8_t>(chars);
  return 0;
}

// libFuzzer target for the safetensors reader: any input either parses, with every tensor
// inside the data section and every float tensor convertible, or gives a one-line Error that
// starts with the input's name.
#include <cstddef>
#include <cstdint>
#include <string>

#include "qforge/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string kName = "fuzz.safetensors";  // constant, not mutable state
  auto file = qforge::SafetensorsFile::Parse(data, size, kName);
  if (!file.ok()) {
    const std::string& message = file.error().message;
    if (message.rfind(kName + ": ", 0) != 0 || message.find('\n') != std::string::npos) {
      __builtin_trap();
    }
    return 0;
  }
  volatile uint8_t sink = 0;
  const auto section = reinterpret_cast<uintptr_t>(data) + file->data_offset();
  const uint64_t section_size = size - file->data_offset();
  uint64_t previous_end = 0;
  for (const auto& t : file->tensors()) {
    const auto begin = reinterpret_cast<uintptr_t>(t.data);
    if (begin < section || begin - section > section_size ||
        t.n_bytes > section_size - (begin - section)) {
      __builtin_trap();
    }
    if (t.n_bytes > 0) {
      if (t.offset < previous_end) __builtin_trap();  // listed by offset, never overlapping
      previous_end = t.offset + t.n_bytes;
      sink = sink ^ t.data[0];
      sink = sink ^ t.data[t.n_bytes - 1];
    }
    if (file->FindTensor(t.name) != &t) __builtin_trap();
    auto values = file->ReadFloat32(t);
    if (values.ok() != qforge::IsFloat32Convertible(t.dtype)) __builtin_trap();
    if (values.ok()) {
      if (values->size() != static_cast<size_t>(t.n_elements())) __builtin_trap();
      for (float v : *values) sink = sink ^ static_cast<uint8_t>(v == v);
    }
  }
  for (const auto& [key, value] : file->metadata()) {
    sink = sink ^ static_cast<uint8_t>(key.size() + value.size());
  }
  return 0;
}

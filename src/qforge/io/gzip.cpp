#include "qforge/io/gzip.h"

#include <zlib.h>

#include <cstdint>

#include "qforge/io/mapped_file.h"

namespace qforge {

bool IsGzip(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<uint8_t>(bytes[0]) == 0x1f &&
         static_cast<uint8_t>(bytes[1]) == 0x8b;
}

Expected<std::string> GunzipBytes(std::string_view compressed, const std::string& name) {
  z_stream zs{};
  // 16 + MAX_WBITS: expect a gzip header and trailer (CRC and length are checked by zlib).
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return MakeError(name + ": zlib init failed");
  std::string out;
  char chunk[1 << 16];
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  zs.avail_in = static_cast<uInt>(compressed.size());
  int rc = Z_OK;
  while (true) {
    zs.next_out = reinterpret_cast<Bytef*>(chunk);
    zs.avail_out = sizeof(chunk);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(chunk, sizeof(chunk) - zs.avail_out);
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      inflateReset(&zs);  // another gzip member follows
      continue;
    }
    if (rc != Z_OK) break;
    if (zs.avail_in == 0 && zs.avail_out != 0) {
      rc = Z_DATA_ERROR;  // input ended inside a member
      break;
    }
  }
  const std::string why = zs.msg ? zs.msg : "truncated or corrupt data";
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) return MakeError(name + ": gzip: " + why);
  return out;
}

Expected<std::string> ReadFileMaybeGzip(const std::string& path) {
  auto bytes = ReadTextFile(path);
  if (!bytes) return bytes.error();
  if (IsGzip(*bytes)) return GunzipBytes(*bytes, path);
  return bytes;
}

}  // namespace qforge

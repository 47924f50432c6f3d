// qcow2 open: the input is a whole image file (tenant bytes). parse_header on its first
// bytes, Image::open read-only (header, extensions, snapshot table, refcount table, L1 table)
// with a zero-filled backing image when the header names one, and reads at a few offsets
// spread over the virtual size; then a writable open of a copy (the refcount rebuild when the
// image is dirty) with small caches and a size bound, one write, one discard and a read back.
// Every outcome is an Error or data: never a crash, never an allocation past the bounds.
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "devices/blk/qcow2/qcow2_header.h"
#include "devices/blk/qcow2/qcow2_image.h"

namespace {

using namespace bulwark::qcow2;

class ZeroBacking final : public BackingReader {
 public:
  uint64_t virtual_size() const override { return 1 << 20; }
  bulwark::Status read(uint64_t, std::span<uint8_t> data) override {
    std::memset(data.data(), 0x5a, data.size());
    return bulwark::ok_status();
  }
};

void read_some(Image& img, std::vector<uint8_t>& buf) {
  const uint64_t size = img.virtual_size();
  if (size == 0) return;
  const uint64_t offsets[] = {0, size / 3, size / 2, size - 1, size > 4096 ? size - 4096 : 0, 512, 65536};
  for (uint64_t off : offsets) {
    if (off >= size) continue;
    const uint64_t n = std::min<uint64_t>(buf.size(), size - off);
    (void)img.read(off, std::span<uint8_t>(buf.data(), n));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  (void)parse_header(bytes, bytes.size());
  ZeroBacking backing;
  std::vector<uint8_t> buf(16384);
  {
    MemoryImageFile file(bytes, bytes.size());
    OpenOptions options{.read_only = true, .l2_cache_bytes = 64 << 10, .refcount_cache_bytes = 64 << 10,
                        .backing = &backing};
    auto img = Image::open(file, options);
    if (!img.ok()) return 0;
    read_some(**img, buf);
  }
  MemoryImageFile file(bytes, bytes.size() + (256 << 10));
  OpenOptions options{.l2_cache_bytes = 16 << 10, .refcount_cache_bytes = 16 << 10, .backing = &backing,
                      .max_file_size = bytes.size() + (256 << 10)};
  auto img = Image::open(file, options);
  if (!img.ok()) return 0;
  std::vector<uint8_t> pattern(3000, 0xa7);
  const uint64_t vs = (*img)->virtual_size();
  if (vs >= pattern.size()) {
    const uint64_t off = (vs / 2) - (vs / 2) % 512;
    if (off + pattern.size() <= vs && (*img)->write(off, pattern).ok()) {
      std::vector<uint8_t> back(pattern.size());
      if ((*img)->read(off, back).ok() && back != pattern) __builtin_trap();
    }
    (void)(*img)->discard(0, std::min<uint64_t>(vs, 1 << 16));
    (void)(*img)->flush();
  }
  read_some(**img, buf);
  return 0;
}

// qcow2 guest operations: the target builds a small valid image in memory and runs a sequence
// of reads, writes, discards, write_zeroes, flushes and reopens on it, checking every read
// against a model (a byte vector of the virtual size). Any operation failing, or any read
// differing from the model, is a bug (__builtin_trap).
//
// Input layout:
//   byte 0: geometry: bits 0-1 cluster_bits - 9 (512 B .. 4 KiB), bit 2 version 2 (else 3),
//           bit 3 a backing image (a pattern), bits 4-6 refcount_order (0..6, 7 -> 4),
//           bit 7 a large disk (64 KiB units below: up to 4 MiB, so small clusters with wide
//           refcounts outgrow the one-cluster refcount table and the table must grow)
//   byte 1: virtual size in 4 KiB units (1..64, the value mod 64 plus 1)
//   then operations of 8 bytes: kind (0 read, 1 write, 2 discard, 3 write_zeroes, 4 flush,
//   5 reopen; the value mod 6), offset u24, length u16 (both scaled into the virtual size),
//   pattern u8, unused u8.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "devices/blk/qcow2/qcow2_image.h"

namespace {

using namespace bulwark::qcow2;

[[noreturn]] void bug_at(int line, const char* what) {
  std::fprintf(stderr, "qcow2_ops_fuzzer.cc:%d: %s\n", line, what);
  __builtin_trap();
}
#define bug() bug_at(__LINE__, "model mismatch or operation failed")
#define bug_status(s) bug_at(__LINE__, (s).error().message().c_str())

void put32(std::vector<uint8_t>& b, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[off + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}
void put64(std::vector<uint8_t>& b, size_t off, uint64_t v) {
  put32(b, off, static_cast<uint32_t>(v >> 32));
  put32(b, off + 4, static_cast<uint32_t>(v));
}

// header | refcount table | refcount block | L1 table (unallocated L2 tables)
std::vector<uint8_t> make_image(uint32_t cluster_bits, uint32_t version, uint32_t refcount_order,
                                uint64_t virtual_size, bool backing) {
  const uint64_t cs = uint64_t{1} << cluster_bits;
  const uint64_t l2_entries = cs / 8;
  const uint64_t l1_size = ((virtual_size + cs - 1) / cs + l2_entries - 1) / l2_entries;
  const uint64_t l1_clusters = (l1_size * 8 + cs - 1) / cs;
  const uint64_t clusters = 3 + l1_clusters;
  std::vector<uint8_t> b(clusters * cs, 0);
  put32(b, 0, 0x514649fb);
  put32(b, 4, version);
  put32(b, 20, cluster_bits);
  put64(b, 24, virtual_size);
  put32(b, 36, static_cast<uint32_t>(l1_size));
  put64(b, 40, 3 * cs);
  put64(b, 48, 1 * cs);
  put32(b, 56, 1);
  uint32_t header_length = 72;
  if (version == 3) {
    put32(b, 96, refcount_order);
    header_length = 104;
    put32(b, 100, header_length);
  }
  if (backing) {
    const char name[] = "base";
    put64(b, 8, 256);
    put32(b, 16, 4);
    std::memcpy(b.data() + 256, name, 4);
  }
  put64(b, cs, 2 * cs);  // refcount table entry 0 -> the block
  const uint32_t bits = 1u << refcount_order;
  for (uint64_t c = 0; c < clusters; ++c) {
    const uint64_t bit = c * bits;
    if (bits >= 8) b[2 * cs + bit / 8 + bits / 8 - 1] = 1;
    else b[2 * cs + bit / 8] |= static_cast<uint8_t>(1u << (bit % 8));
  }
  return b;
}

class PatternBacking final : public BackingReader {
 public:
  explicit PatternBacking(uint64_t size) : size_(size) {}
  uint64_t virtual_size() const override { return size_; }
  bulwark::Status read(uint64_t offset, std::span<uint8_t> data) override {
    for (size_t i = 0; i < data.size(); ++i) data[i] = byte(offset + i);
    return bulwark::ok_status();
  }
  uint8_t byte(uint64_t pos) const { return pos < size_ ? static_cast<uint8_t>(pos * 31 / 7 + 3) : 0; }

 private:
  uint64_t size_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint32_t cluster_bits = 9 + (data[0] & 3);
  const uint32_t version = (data[0] & 4) ? 2 : 3;
  const bool with_backing = data[0] & 8;
  uint32_t refcount_order = (data[0] >> 4) & 7;
  if (refcount_order == 7 || version == 2) refcount_order = 4;
  const uint64_t virtual_size = (uint64_t{data[1]} % 64 + 1) * ((data[0] & 0x80) ? 65536 : 4096);
  MemoryImageFile file(make_image(cluster_bits, version, refcount_order, virtual_size, with_backing), 64 << 20);
  PatternBacking backing(virtual_size / 2 + 1000);
  std::vector<uint8_t> model(virtual_size, 0);
  if (with_backing)
    for (uint64_t i = 0; i < model.size(); ++i) model[i] = backing.byte(i);

  // Small caches so eviction is exercised.
  const OpenOptions options{.l2_cache_bytes = 2048, .refcount_cache_bytes = 2048,
                            .backing = with_backing ? &backing : nullptr};
  auto opened = Image::open(file, options);
  if (!opened.ok()) bug_status(opened);
  std::unique_ptr<Image> img = std::move(*opened);
  const uint64_t cs = uint64_t{1} << cluster_bits;
  std::vector<uint8_t> buf;
  for (size_t p = 2; p + 8 <= size; p += 8) {
    const uint8_t* op = data + p;
    const uint64_t offset = ((uint64_t{op[1]} << 16) | (uint64_t{op[2]} << 8) | op[3]) % virtual_size;
    const uint64_t length = ((uint64_t{op[4]} << 8) | op[5]) % (virtual_size - offset + 1);
    const uint8_t pattern = op[6];
    switch (op[0] % 6) {
      case 0: {  // read
        buf.assign(length, 0xee);
        if (auto st = img->read(offset, buf); !st.ok()) bug_status(st);
        if (length && std::memcmp(buf.data(), model.data() + offset, length) != 0) bug();
        break;
      }
      case 1: {  // write
        buf.resize(length);
        for (uint64_t i = 0; i < length; ++i) buf[i] = static_cast<uint8_t>(pattern + i / 512);
        if (auto st = img->write(offset, buf); !st.ok()) bug_status(st);
        if (length) std::memcpy(model.data() + offset, buf.data(), length);
        break;
      }
      case 2: {  // discard: whole clusters only
        if (auto st = img->discard(offset, length); !st.ok()) bug_status(st);
        const uint64_t first = (offset + cs - 1) / cs * cs, last = (offset + length) / cs * cs;
        if (last > first) std::memset(model.data() + first, 0, last - first);
        break;
      }
      case 3:
        if (auto st = img->write_zeroes(offset, length); !st.ok()) bug_status(st);
        std::memset(model.data() + offset, 0, length);
        break;
      case 4:
        if (auto st = img->flush(); !st.ok()) bug_status(st);
        break;
      case 5: {  // reopen: everything written is in the file
        img.reset();
        auto again = Image::open(file, options);
        if (!again.ok()) bug_status(again);
        img = std::move(*again);
        break;
      }
    }
  }
  buf.resize(virtual_size);
  if (!img->read(0, buf).ok() || buf != model) bug();
  return 0;
}

// Images written by qemu-io (every cluster size, compat 0.10 and 1.1), compressed by
// qemu-img convert -c (deflate and zstd), with an internal snapshot, and over a raw backing
// file: Image::read returns exactly what qemu wrote.
#include <gtest/gtest.h>

#include <cstring>

#include "devices/blk/qcow2/qcow2_image.h"
#include "tests/unit/qcow2/qemu_tools.h"

namespace bulwark::qcow2 {
namespace {
using namespace test;

struct Write {
  uint64_t offset;
  uint64_t length;
  uint8_t pattern;
};

std::string qemu_io_writes(const std::vector<Write>& writes) {
  std::string args;
  for (const auto& w : writes)
    args += " -c 'write -P " + std::to_string(w.pattern) + " " + std::to_string(w.offset) + " " +
            std::to_string(w.length) + "'";
  return args;
}

void apply(std::vector<uint8_t>& model, const std::vector<Write>& writes) {
  for (const auto& w : writes) std::memset(model.data() + w.offset, w.pattern, w.length);
}

// Reads the whole image in `chunk`-byte reads and compares with the model.
void expect_reads(Image& img, const std::vector<uint8_t>& model, uint64_t chunk, const std::string& what) {
  std::vector<uint8_t> got(chunk);
  for (uint64_t off = 0; off < model.size(); off += chunk) {
    const uint64_t n = std::min<uint64_t>(chunk, model.size() - off);
    auto s = img.read(off, std::span<uint8_t>(got.data(), n));
    ASSERT_TRUE(s.ok()) << what << " at " << off << ": " << s.error().message();
    ASSERT_EQ(0, std::memcmp(got.data(), model.data() + off, n)) << what << ": differs in [" << off << ", +" << n << ")";
  }
}

TEST(Qcow2Read, QemuIoWritesEveryClusterSizeBothVersions) {
  REQUIRE_QEMU_TOOLS();
  const uint64_t size = 6 << 20;
  const std::vector<Write> writes = {
      {0, 4096, 0xab}, {512, 512, 0x11}, {65536 + 1024, 70000, 0x22},
      {(3 << 20) - 4096, 8192, 0x33}, {size - 512, 512, 0x44}, {(2 << 20) + 7 * 512, 3 * 512, 0x55}};
  for (const char* compat : {"0.10", "1.1"}) {
    for (uint32_t bits : {9u, 10u, 12u, 16u, 18u, 21u}) {
      const std::string what = std::string("compat=") + compat + " cluster_bits=" + std::to_string(bits);
      TempDir dir;
      auto r = run(dir.path(), "qemu-img create -q -f qcow2 -o cluster_size=" + std::to_string(1u << bits) +
                                   ",compat=" + compat + " img.qcow2 " + std::to_string(size));
      ASSERT_EQ(r.status, 0) << r.output;
      r = run(dir.path(), "qemu-io" + qemu_io_writes(writes) + " img.qcow2");
      ASSERT_EQ(r.status, 0) << r.output;
      std::vector<uint8_t> model(size, 0);
      apply(model, writes);
      MemoryImageFile file(read_file(dir.file("img.qcow2")));
      auto img = Image::open(file, OpenOptions{.read_only = true});
      ASSERT_TRUE(img.ok()) << what << ": " << img.error().message();
      expect_reads(**img, model, 65536, what);
      expect_reads(**img, model, 1536, what);
    }
  }
}

TEST(Qcow2Read, ZeroClusters) {
  REQUIRE_QEMU_TOOLS();
  TempDir dir;
  const uint64_t size = 1 << 20;
  ASSERT_EQ(run(dir.path(), "qemu-img create -q -f qcow2 -o cluster_size=4096,compat=1.1 img.qcow2 1M").status, 0);
  // Data, then zeroed over (zero flag with and without the cluster kept), then zeros where
  // nothing was allocated.
  auto r = run(dir.path(), "qemu-io -c 'write -P 0xab 0 64k' -c 'write -z 8k 16k' -c 'write -z -u 32k 8k'"
                           " -c 'write -z 128k 8k' img.qcow2");
  ASSERT_EQ(r.status, 0) << r.output;
  std::vector<uint8_t> model(size, 0);
  std::memset(model.data(), 0xab, 65536);
  std::memset(model.data() + 8192, 0, 16384);
  std::memset(model.data() + 32768, 0, 8192);
  MemoryImageFile file(read_file(dir.file("img.qcow2")));
  auto img = Image::open(file, OpenOptions{.read_only = true});
  ASSERT_TRUE(img.ok()) << img.error().message();
  expect_reads(**img, model, 4096, "zero clusters");
}

std::vector<uint8_t> compressible(uint64_t size) {
  std::vector<uint8_t> b(size);
  uint32_t x = 12345;
  for (uint64_t i = 0; i < size; ++i) {
    if (i % 64 == 0) x = x * 1103515245 + 12345;
    b[i] = static_cast<uint8_t>((x >> 16) % 7 + 'a');
  }
  std::memset(b.data() + size / 2, 0, size / 8);  // a run of zeros (not compressed: unallocated)
  return b;
}

TEST(Qcow2Read, CompressedDeflateAndZstd) {
  REQUIRE_QEMU_TOOLS();
  const uint64_t size = 3 << 20;
  const auto raw = compressible(size);
  for (const char* type : {"zlib", "zstd"}) {
    for (uint32_t cs : {512u, 4096u, 65536u, 2u << 20}) {
      const std::string what = std::string(type) + " cluster_size=" + std::to_string(cs);
      TempDir dir;
      write_file(dir.file("raw"), raw);
      auto r = run(dir.path(), "qemu-img convert -c -f raw -O qcow2 -o cluster_size=" + std::to_string(cs) +
                                   ",compression_type=" + type + " raw img.qcow2");
      if (r.status != 0 && std::string(type) == "zstd") GTEST_SKIP() << "qemu-img without zstd: " << r.output;
      ASSERT_EQ(r.status, 0) << r.output;
      auto bytes = read_file(dir.file("img.qcow2"));
      if (cs < (1u << 20)) {
        EXPECT_LT(bytes.size(), size) << what << ": not compressed";
      }
      MemoryImageFile file(bytes);
      auto img = Image::open(file, OpenOptions{.read_only = true});
      ASSERT_TRUE(img.ok()) << what << ": " << img.error().message();
      expect_reads(**img, raw, 3000, what);
    }
  }
}

TEST(Qcow2Read, InternalSnapshotActiveStateRead) {
  REQUIRE_QEMU_TOOLS();
  TempDir dir;
  ASSERT_EQ(run(dir.path(), "qemu-img create -q -f qcow2 -o cluster_size=4096 img.qcow2 1M").status, 0);
  ASSERT_EQ(run(dir.path(), "qemu-io -c 'write -P 0xab 0 256k' img.qcow2").status, 0);
  ASSERT_EQ(run(dir.path(), "qemu-img snapshot -c before img.qcow2").status, 0);
  ASSERT_EQ(run(dir.path(), "qemu-io -c 'write -P 0xcd 64k 64k' img.qcow2").status, 0);
  std::vector<uint8_t> model(1 << 20, 0);
  std::memset(model.data(), 0xab, 256 << 10);
  std::memset(model.data() + (64 << 10), 0xcd, 64 << 10);
  MemoryImageFile file(read_file(dir.file("img.qcow2")));
  auto img = Image::open(file, OpenOptions{.read_only = true});
  ASSERT_TRUE(img.ok()) << img.error().message();
  EXPECT_EQ((*img)->header().nb_snapshots, 1u);
  expect_reads(**img, model, 8192, "snapshot");
}

TEST(Qcow2Read, OverlayOnRawBacking) {
  REQUIRE_QEMU_TOOLS();
  TempDir dir;
  const uint64_t base_size = 1 << 20, size = 2 << 20;  // the overlay is larger than its base
  std::vector<uint8_t> base(base_size);
  for (uint64_t i = 0; i < base_size; ++i) base[i] = static_cast<uint8_t>(i * 7 + 1);
  write_file(dir.file("base.raw"), base);
  for (const char* compat : {"0.10", "1.1"}) {
    auto r = run(dir.path(), std::string("qemu-img create -q -f qcow2 -o cluster_size=4096,compat=") + compat +
                                 " -b base.raw -F raw over.qcow2 " + std::to_string(size));
    ASSERT_EQ(r.status, 0) << r.output;
    const std::vector<Write> writes = {{1000, 5000, 0x77}, {base_size - 100, 300, 0x66}, {size - 4096, 4096, 0x55}};
    ASSERT_EQ(run(dir.path(), "qemu-io" + qemu_io_writes(writes) + " over.qcow2").status, 0);
    std::vector<uint8_t> model(size, 0);
    std::copy(base.begin(), base.end(), model.begin());
    apply(model, writes);
    if (std::string(compat) == "1.1") {
      ASSERT_EQ(run(dir.path(), "qemu-io -c 'write -z 64k 64k' over.qcow2").status, 0);
      std::memset(model.data() + 65536, 0, 65536);
    }
    MemoryBacking backing(base);
    MemoryImageFile file(read_file(dir.file("over.qcow2")));
    auto img = Image::open(file, OpenOptions{.read_only = true, .backing = &backing});
    ASSERT_TRUE(img.ok()) << img.error().message();
    expect_reads(**img, model, 4000, std::string("overlay compat=") + compat);
  }
}

TEST(Qcow2Read, ChainQcow2OverQcow2OverRaw) {
  REQUIRE_QEMU_TOOLS();
  TempDir dir;
  std::vector<uint8_t> base(1 << 20, 0x10);
  write_file(dir.file("base.raw"), base);
  ASSERT_EQ(run(dir.path(), "qemu-img create -q -f qcow2 -b base.raw -F raw mid.qcow2 1M").status, 0);
  ASSERT_EQ(run(dir.path(), "qemu-io -c 'write -P 0x20 4k 8k' mid.qcow2").status, 0);
  ASSERT_EQ(run(dir.path(), "qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 top.qcow2 1M").status, 0);
  ASSERT_EQ(run(dir.path(), "qemu-io -c 'write -P 0x30 8k 8k' top.qcow2").status, 0);
  std::vector<uint8_t> model = base;
  std::memset(model.data() + 4096, 0x20, 8192);
  std::memset(model.data() + 8192, 0x30, 8192);
  MemoryBacking raw(base);
  MemoryImageFile mid_file(read_file(dir.file("mid.qcow2")));
  auto mid = Image::open(mid_file, OpenOptions{.read_only = true, .backing = &raw});
  ASSERT_TRUE(mid.ok()) << mid.error().message();
  MemoryImageFile top_file(read_file(dir.file("top.qcow2")));
  auto top = Image::open(top_file, OpenOptions{.read_only = true, .backing = mid->get()});
  ASSERT_TRUE(top.ok()) << top.error().message();
  expect_reads(**top, model, 65536, "chain");
}

}  // namespace
}  // namespace bulwark::qcow2

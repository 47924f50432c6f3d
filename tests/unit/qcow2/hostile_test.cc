// Hostile images made by editing what qemu-img wrote: each refused at open with a message, or
// failing only the read that meets the bad entry.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>

#include "devices/blk/qcow2/qcow2_header.h"
#include "devices/blk/qcow2/qcow2_image.h"
#include "tests/unit/qcow2/qemu_tools.h"

namespace bulwark::qcow2 {
namespace {
using namespace test;

constexpr uint64_t kOffsetMask = 0x00fffffffffffe00ull;

struct Made {
  std::vector<uint8_t> bytes;
  Header header;
  uint64_t l2_offset() const { return get64(bytes, header.l1_table_offset) & kOffsetMask; }
};

// A 1 MiB, 4 KiB-cluster v3 image with data in its first 64 KiB.
Made make(const std::string& extra_create = "", const std::string& writes = "-c 'write -P 0xab 0 64k'") {
  TempDir dir;
  auto r = run(dir.path(), "qemu-img create -q -f qcow2 -o cluster_size=4096" + extra_create + " img.qcow2 1M");
  EXPECT_EQ(r.status, 0) << r.output;
  r = run(dir.path(), "qemu-io " + writes + " img.qcow2");
  EXPECT_EQ(r.status, 0) << r.output;
  Made m{read_file(dir.file("img.qcow2")), {}};
  auto h = parse_header(m.bytes, m.bytes.size());
  EXPECT_TRUE(h.ok());
  m.header = *h;
  return m;
}

void expect_open_refused(const std::vector<uint8_t>& bytes, const std::string& message) {
  MemoryImageFile file(bytes);
  auto img = Image::open(file, OpenOptions{});
  ASSERT_FALSE(img.ok()) << "expected: " << message;
  EXPECT_NE(img.error().message().find(message), std::string::npos) << img.error().message();
}

// Opens, expects reading guest cluster 1 (4 KiB at 4096) to fail with `message` and cluster
// 0 to read 0xab.
void expect_only_that_read_fails(const std::vector<uint8_t>& bytes, const std::string& message) {
  MemoryImageFile file(bytes);
  auto img = Image::open(file, OpenOptions{.read_only = true});
  ASSERT_TRUE(img.ok()) << img.error().message();
  std::vector<uint8_t> buf(4096);
  auto bad = (*img)->read(4096, buf);
  ASSERT_FALSE(bad.ok()) << "expected: " << message;
  EXPECT_NE(bad.error().message().find(message), std::string::npos) << bad.error().message();
  ASSERT_TRUE((*img)->read(0, buf).ok());
  EXPECT_EQ(buf[0], 0xab);
  EXPECT_EQ(buf[4095], 0xab);
  // A writable open fails that write the same way and leaves the rest working.
  MemoryImageFile wfile(bytes);
  auto w = Image::open(wfile, OpenOptions{});
  ASSERT_TRUE(w.ok()) << w.error().message();
  EXPECT_FALSE((*w)->write(4096, buf).ok());
  EXPECT_TRUE((*w)->write(0, buf).ok());
}

TEST(Qcow2Hostile, L1EntryPastTheEndOfTheFile) {
  REQUIRE_QEMU_TOOLS();
  auto m = make();
  put64(m.bytes, m.header.l1_table_offset, (uint64_t{1} << 40) | (uint64_t{1} << 63));
  expect_open_refused(m.bytes, "past the end of the file");
}

TEST(Qcow2Hostile, L1EntryNamesTheHeaderOrTheRefcountTable) {
  REQUIRE_QEMU_TOOLS();
  auto m = make();
  auto b = m.bytes;
  put64(b, m.header.l1_table_offset, uint64_t{1} << 63);  // offset 0 with the copied bit: unallocated
  MemoryImageFile ok_file(b);
  EXPECT_TRUE(Image::open(ok_file, OpenOptions{}).ok());
  b = m.bytes;
  put64(b, m.header.l1_table_offset, m.header.refcount_table_offset);
  expect_open_refused(b, "overlaps the image's metadata");
  b = m.bytes;
  put64(b, m.header.l1_table_offset, m.header.l1_table_offset);
  expect_open_refused(b, "overlaps the image's metadata");
  b = m.bytes;
  put64(b, m.header.l1_table_offset, m.l2_offset() + 8);
  expect_open_refused(b, "reserved bits");
}

TEST(Qcow2Hostile, RefcountTableEntries) {
  REQUIRE_QEMU_TOOLS();
  auto m = make();
  auto b = m.bytes;
  put64(b, m.header.refcount_table_offset, uint64_t{1} << 40);
  expect_open_refused(b, "past the end of the file");
  b = m.bytes;
  put64(b, m.header.refcount_table_offset + 8, get64(b, m.header.refcount_table_offset));
  expect_open_refused(b, "same refcount block");
  b = m.bytes;
  put64(b, m.header.refcount_table_offset, m.header.l1_table_offset);
  expect_open_refused(b, "overlaps the L1 table");
}

TEST(Qcow2Hostile, DataClusterPastTheEnd) {
  REQUIRE_QEMU_TOOLS();
  auto m = make();
  put64(m.bytes, m.l2_offset() + 8, (uint64_t{1} << 40) | (uint64_t{1} << 63));
  expect_only_that_read_fails(m.bytes, "past the end of the file");
}

TEST(Qcow2Hostile, DataClusterUnaligned) {
  REQUIRE_QEMU_TOOLS();
  auto m = make();
  put64(m.bytes, m.l2_offset() + 8, (get64(m.bytes, m.l2_offset() + 8) + 512));
  expect_only_that_read_fails(m.bytes, "not cluster-aligned");
}

TEST(Qcow2Hostile, DataClusterOverMetadata) {
  REQUIRE_QEMU_TOOLS();
  for (uint64_t target : {uint64_t{0}, uint64_t{1}, uint64_t{2}, uint64_t{3}}) {
    auto m = make();
    uint64_t off = 0;
    switch (target) {
      case 0: off = m.header.l1_table_offset; break;
      case 1: off = m.header.refcount_table_offset; break;
      case 2: off = m.l2_offset(); break;
      case 3: off = get64(m.bytes, m.header.refcount_table_offset); break;  // a refcount block
    }
    put64(m.bytes, m.l2_offset() + 8, off | (uint64_t{1} << 63));
    expect_only_that_read_fails(m.bytes, "overlaps the image's metadata");
  }
  auto m = make();
  put64(m.bytes, m.l2_offset() + 8, uint64_t{1} << 63 | 0);  // offset 0 + copied: unallocated, reads zeros
  MemoryImageFile file(m.bytes);
  auto img = Image::open(file, OpenOptions{.read_only = true});
  ASSERT_TRUE(img.ok());
  std::vector<uint8_t> buf(4096, 1);
  ASSERT_TRUE((*img)->read(4096, buf).ok());
  EXPECT_EQ(buf[0], 0);
}

TEST(Qcow2Hostile, ReservedBitsInL2Entry) {
  REQUIRE_QEMU_TOOLS();
  auto m = make();
  put64(m.bytes, m.l2_offset() + 8, get64(m.bytes, m.l2_offset() + 8) | (uint64_t{1} << 57));
  expect_only_that_read_fails(m.bytes, "reserved bits");
}

std::vector<uint8_t> raw_deflate(const std::vector<uint8_t>& in) {
  z_stream s{};
  EXPECT_EQ(deflateInit2(&s, 9, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY), Z_OK);
  std::vector<uint8_t> out(in.size() + 1024);
  s.next_in = const_cast<uint8_t*>(in.data());
  s.avail_in = static_cast<uInt>(in.size());
  s.next_out = out.data();
  s.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&s, Z_FINISH), Z_STREAM_END);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

TEST(Qcow2Hostile, CompressedClusterInflatingPastOneCluster) {
  REQUIRE_QEMU_TOOLS();
  TempDir dir;
  std::vector<uint8_t> raw(1 << 20);
  for (size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<uint8_t>((i / 100) * 37 + i % 5);
  write_file(dir.file("raw"), raw);
  ASSERT_EQ(run(dir.path(), "qemu-img convert -c -f raw -O qcow2 -o cluster_size=4096 raw img.qcow2").status, 0);
  auto bytes = read_file(dir.file("img.qcow2"));
  auto h = parse_header(bytes, bytes.size());
  ASSERT_TRUE(h.ok());
  const uint64_t l2 = get64(bytes, h->l1_table_offset) & kOffsetMask;
  const uint64_t entry = get64(bytes, l2 + 8);  // guest cluster 1
  ASSERT_TRUE(entry & (uint64_t{1} << 62)) << "not compressed";
  const uint32_t x = 62 - (12 - 8);
  const uint64_t coffset = entry & ((uint64_t{1} << x) - 1);
  const uint64_t clen = (((entry & ((uint64_t{1} << 62) - 1)) >> x) + 1) * 512 - (coffset & 511);
  auto check = [&](const std::vector<uint8_t>& stream, const std::string& message) {
    ASSERT_LE(stream.size(), clen);
    auto b = bytes;
    std::copy(stream.begin(), stream.end(), b.begin() + coffset);
    MemoryImageFile file(b);
    auto img = Image::open(file, OpenOptions{.read_only = true});
    ASSERT_TRUE(img.ok()) << img.error().message();
    std::vector<uint8_t> buf(4096);
    auto s = (*img)->read(4096, buf);
    ASSERT_FALSE(s.ok()) << message;
    EXPECT_NE(s.error().message().find(message), std::string::npos) << s.error().message();
    ASSERT_TRUE((*img)->read(0, buf).ok());
    EXPECT_EQ(0, std::memcmp(buf.data(), raw.data(), 4096));
    ASSERT_TRUE((*img)->read(8192, buf).ok());
    EXPECT_EQ(0, std::memcmp(buf.data(), raw.data() + 8192, 4096));
  };
  check(raw_deflate(std::vector<uint8_t>(64 << 10, 0)), "inflates past one cluster");
  check(raw_deflate(std::vector<uint8_t>(100, 0)), "not one cluster");
  check(std::vector<uint8_t>(16, 0xff), "corrupt deflate");
}

TEST(Qcow2Hostile, SmallCachesStillReadEverything) {
  REQUIRE_QEMU_TOOLS();
  TempDir dir;
  ASSERT_EQ(run(dir.path(), "qemu-img create -q -f qcow2 -o cluster_size=512 img.qcow2 4M").status, 0);
  ASSERT_EQ(run(dir.path(), "qemu-io -c 'write -P 0x5a 0 4M' img.qcow2").status, 0);
  MemoryImageFile file(read_file(dir.file("img.qcow2")));
  // A cache smaller than one table still holds one.
  auto img = Image::open(file, OpenOptions{.l2_cache_bytes = 1, .refcount_cache_bytes = 1});
  ASSERT_TRUE(img.ok()) << img.error().message();
  std::vector<uint8_t> buf(1 << 20);
  for (uint64_t off = 0; off < (4u << 20); off += buf.size()) {
    ASSERT_TRUE((*img)->read(off, buf).ok());
    ASSERT_EQ(buf[12345], 0x5a);
  }
  ASSERT_TRUE((*img)->write(100, std::vector<uint8_t>(5000, 1)).ok());
}

TEST(Qcow2Hostile, SnapshotTableEntries) {
  REQUIRE_QEMU_TOOLS();
  TempDir dir;
  ASSERT_EQ(run(dir.path(), "qemu-img create -q -f qcow2 -o cluster_size=4096 img.qcow2 1M").status, 0);
  ASSERT_EQ(run(dir.path(), "qemu-img snapshot -c one img.qcow2").status, 0);
  auto bytes = read_file(dir.file("img.qcow2"));
  auto h = parse_header(bytes, bytes.size());
  ASSERT_TRUE(h.ok());
  auto b = bytes;
  put64(b, h->snapshots_offset, uint64_t{1} << 40);
  expect_open_refused(b, "snapshot 0's L1 table");
  b = bytes;
  put32(b, 60, 1000);  // more snapshots than the table holds
  expect_open_refused(b, "past the end of the file");
}

}  // namespace
}  // namespace bulwark::qcow2

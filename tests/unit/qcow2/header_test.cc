// The header parser on images made by qemu-img, and each refusal on a byte-edited header.
#include <gtest/gtest.h>

#include <functional>

#include "devices/blk/qcow2/qcow2_header.h"
#include "devices/blk/qcow2/qcow2_image.h"
#include "tests/unit/qcow2/qemu_tools.h"

namespace bulwark::qcow2 {
namespace {
using namespace test;

std::vector<uint8_t> make_image(const std::string& options, const std::string& size = "1M") {
  TempDir dir;
  auto r = run(dir.path(), "qemu-img create -q -f qcow2 -o " + options + " img.qcow2 " + size);
  EXPECT_EQ(r.status, 0) << r.output;
  return read_file(dir.file("img.qcow2"));
}

Result<Header> parse(const std::vector<uint8_t>& b) { return parse_header(b, b.size()); }

TEST(Qcow2Header, ParsesVersion3FromQemuImg) {
  REQUIRE_QEMU_TOOLS();
  auto b = make_image("cluster_size=65536,compat=1.1");
  auto h = parse(b);
  ASSERT_TRUE(h.ok()) << h.error().message();
  EXPECT_EQ(h->version, 3u);
  EXPECT_EQ(h->cluster_size, 65536u);
  EXPECT_EQ(h->virtual_size, 1u << 20);
  EXPECT_EQ(h->refcount_order, 4u);
  EXPECT_EQ(h->l1_size, 1u);
  EXPECT_FALSE(h->dirty);
  EXPECT_EQ(h->compression, CompressionType::kDeflate);
  EXPECT_GE(h->header_length, 104u);
}

TEST(Qcow2Header, ParsesVersion2AndEveryClusterSize) {
  REQUIRE_QEMU_TOOLS();
  for (const char* compat : {"0.10", "1.1"}) {
    for (uint32_t bits = 9; bits <= 21; ++bits) {
      auto b = make_image("cluster_size=" + std::to_string(1u << bits) + ",compat=" + compat, "8M");
      auto h = parse(b);
      ASSERT_TRUE(h.ok()) << compat << " " << bits << ": " << h.error().message();
      EXPECT_EQ(h->version, std::string(compat) == "0.10" ? 2u : 3u);
      EXPECT_EQ(h->cluster_bits, bits);
    }
  }
}

TEST(Qcow2Header, BackingNameAndFormatExtension) {
  REQUIRE_QEMU_TOOLS();
  TempDir dir;
  ASSERT_EQ(run(dir.path(), "qemu-img create -q -f raw base.raw 1M").status, 0);
  auto r = run(dir.path(), "qemu-img create -q -f qcow2 -b base.raw -F raw over.qcow2 1M");
  ASSERT_EQ(r.status, 0) << r.output;
  auto b = read_file(dir.file("over.qcow2"));
  auto h = parse(b);
  ASSERT_TRUE(h.ok()) << h.error().message();
  EXPECT_EQ(h->backing_name, "base.raw");
  EXPECT_EQ(h->backing_format, "raw");
  // Given no backing reader, the overlay is refused at open.
  MemoryImageFile file(b);
  auto img = Image::open(file, OpenOptions{.read_only = true});
  ASSERT_FALSE(img.ok());
  EXPECT_NE(img.error().message().find("base.raw"), std::string::npos) << img.error().message();
}

TEST(Qcow2Header, ZstdCompressionType) {
  REQUIRE_QEMU_TOOLS();
  auto b = make_image("compression_type=zstd");
  auto h = parse(b);
  ASSERT_TRUE(h.ok()) << h.error().message();
  EXPECT_EQ(h->compression, CompressionType::kZstd);
  EXPECT_EQ(incompatible_features(*h), 1u << 3);
}

struct Refusal {
  const char* name;
  std::function<void(std::vector<uint8_t>&)> edit;
  const char* message;  // a substring of the error
};

TEST(Qcow2Header, RefusesByName) {
  REQUIRE_QEMU_TOOLS();
  const auto v3 = make_image("cluster_size=65536,compat=1.1", "1M");
  const std::vector<Refusal> refusals = {
      {"magic", [](auto& b) { b[0] = 'X'; }, "bad magic"},
      {"version 4", [](auto& b) { put32(b, 4, 4); }, "version 4"},
      {"encryption", [](auto& b) { put32(b, 32, 1); }, "encryption (crypt_method 1)"},
      {"luks", [](auto& b) { put32(b, 32, 2); }, "encryption (crypt_method 2)"},
      {"external data file", [](auto& b) { put64(b, 72, 1u << 2); }, "external data file"},
      {"extended L2", [](auto& b) { put64(b, 72, 1u << 4); }, "extended L2"},
      {"unknown incompatible bit", [](auto& b) { put64(b, 72, 1u << 9); }, "unknown incompatible features: bit 9"},
      {"header_length < 104", [](auto& b) { put32(b, 100, 96); }, "header_length 96"},
      {"cluster_bits 8", [](auto& b) { put32(b, 20, 8); }, "cluster_bits 8"},
      {"cluster_bits 22", [](auto& b) { put32(b, 20, 22); }, "cluster_bits 22"},
      {"refcount_order 7", [](auto& b) { put32(b, 96, 7); }, "refcount_order 7"},
      {"L1 larger than needed", [](auto& b) { put32(b, 36, 2); }, "larger than the virtual size needs"},
      {"L1 too small", [](auto& b) { put64(b, 24, uint64_t{1} << 40); }, "too small"},
      {"L1 above 32 MiB", [](auto& b) { put64(b, 24, uint64_t{1} << 55); }, "larger than 32 MiB"},
      {"L1 unaligned", [](auto& b) { put64(b, 40, get64(b, 40) + 8); }, "not aligned"},
      {"L1 past the end", [](auto& b) { put64(b, 40, uint64_t{1} << 40); }, "past the end of the file"},
      {"refcount table unaligned", [](auto& b) { put64(b, 48, get64(b, 48) + 512); }, "not aligned"},
      {"refcount table past the end", [](auto& b) { put32(b, 56, 100); }, "past the end of the file"},
      {"refcount table above 8 MiB", [](auto& b) { put32(b, 56, 129); }, "larger than 8 MiB"},
      {"refcount table in the header", [](auto& b) { put64(b, 48, 0); }, "overlaps the header"},
      {"L1 over the refcount table", [](auto& b) { put64(b, 40, get64(b, 48)); }, "overlap"},
      {"backing name of 1024 bytes", [](auto& b) { put64(b, 8, 512); put32(b, 16, 1024); }, "longer than 1023"},
      {"backing name past the header area", [](auto& b) { put64(b, 8, 65530); put32(b, 16, 16); }, "outside the header area"},
      {"backing name over the header", [](auto& b) { put64(b, 8, 8); put32(b, 16, 16); }, "outside the header area"},
      {"compression type 2", [](auto& b) { put32(b, 100, 112); put64(b, 72, 1u << 3); b[104] = 2; }, "compression type 2"},
      {"extension overruns", [](auto& b) { put32(b, 112, 0x12345678); put32(b, 116, 70000); }, "runs past the header area"},
  };
  for (const auto& r : refusals) {
    auto b = v3;
    r.edit(b);
    auto h = parse(b);
    ASSERT_FALSE(h.ok()) << r.name;
    EXPECT_NE(h.error().message().find(r.message), std::string::npos) << r.name << ": " << h.error().message();
    EXPECT_EQ(h.error().message().rfind("qcow2: ", 0), 0u) << r.name;
    // Image::open says the same.
    MemoryImageFile file(b);
    EXPECT_FALSE(Image::open(file, OpenOptions{.read_only = true}).ok()) << r.name;
  }
}

TEST(Qcow2Header, UnknownIncompatibleBitNamedFromTheFeatureTable) {
  REQUIRE_QEMU_TOOLS();
  auto b = make_image("compat=1.1");
  // qemu-img writes a feature name table; add a name for bit 7 in place of an entry.
  auto h = parse(b);
  ASSERT_TRUE(h.ok());
  for (size_t off = h->header_length; off + 8 < 4096;) {
    const uint32_t type = get32(b, off), len = get32(b, off + 4);
    if (type == 0) break;
    if (type == 0x6803f857) {
      b[off + 8] = 0;
      b[off + 9] = 7;
      const char name[] = "frobnication";
      std::fill(b.begin() + off + 10, b.begin() + off + 56, 0);
      std::copy(name, name + sizeof(name) - 1, b.begin() + off + 10);
      break;
    }
    off += 8 + (len + 7) / 8 * 8;
  }
  put64(b, 72, 1u << 7);
  auto r = parse(b);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("bit 7 (\"frobnication\")"), std::string::npos) << r.error().message();
}

TEST(Qcow2Header, CorruptBitAllowsReadOnlyOnly) {
  REQUIRE_QEMU_TOOLS();
  auto b = make_image("compat=1.1");
  put64(b, 72, 1u << 1);
  MemoryImageFile writable(b);
  auto w = Image::open(writable, OpenOptions{});
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.error().message().find("corrupt"), std::string::npos) << w.error().message();
  MemoryImageFile readable(b);
  auto r = Image::open(readable, OpenOptions{.read_only = true});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_TRUE((*r)->header().corrupt);
}

TEST(Qcow2Header, ShortAndEmptyInputs) {
  std::vector<uint8_t> empty;
  EXPECT_FALSE(parse(empty).ok());
  std::vector<uint8_t> magic = {'Q', 'F', 'I', 0xfb};
  EXPECT_FALSE(parse(magic).ok());
}

}  // namespace
}  // namespace bulwark::qcow2

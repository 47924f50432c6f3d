// Writes through Image, then the bytes written back to a file: `qemu-img check` finds no
// errors and qemu-io reads what was written; internal snapshots are left as they were; a
// dirty image (QEMU's lazy refcounts, killed) has its refcounts rebuilt at a writable open.
#include <gtest/gtest.h>

#include <cstring>

#include "devices/blk/qcow2/qcow2_header.h"
#include "devices/blk/qcow2/qcow2_image.h"
#include "tests/unit/qcow2/qemu_tools.h"

namespace bulwark::qcow2 {
namespace {
using namespace test;

void expect_check_clean(const TempDir& dir, const std::string& name, const std::string& what) {
  auto r = run(dir.path(), "qemu-img check " + name);
  EXPECT_EQ(r.status, 0) << what << ":\n" << r.output;
  EXPECT_NE(r.output.find("No errors were found"), std::string::npos) << what << ":\n" << r.output;
  EXPECT_EQ(r.output.find("leaked"), std::string::npos) << what << ":\n" << r.output;
}

void expect_qemu_reads(const TempDir& dir, const std::string& name, uint64_t off, uint64_t len, uint8_t pattern,
                       const std::string& what) {
  auto r = run(dir.path(), "qemu-io -r -c 'read -P " + std::to_string(pattern) + " " + std::to_string(off) + " " +
                               std::to_string(len) + "' " + name);
  EXPECT_EQ(r.status, 0) << what << r.output;
  EXPECT_EQ(r.output.find("Pattern verification failed"), std::string::npos) << what << ": " << off << "+" << len
                                                                              << " != " << int(pattern) << "\n"
                                                                              << r.output;
}

struct Op {
  enum Kind { kWrite, kZeroes, kDiscard } kind;
  uint64_t offset;
  uint64_t length;
  uint8_t pattern;
};

void apply(Image& img, std::vector<uint8_t>& model, const Op& op, uint64_t cs, const std::string& what) {
  switch (op.kind) {
    case Op::kWrite: {
      std::vector<uint8_t> data(op.length, op.pattern);
      auto s = img.write(op.offset, data);
      ASSERT_TRUE(s.ok()) << what << ": " << s.error().message();
      std::memset(model.data() + op.offset, op.pattern, op.length);
      break;
    }
    case Op::kZeroes: {
      auto s = img.write_zeroes(op.offset, op.length);
      ASSERT_TRUE(s.ok()) << what << ": " << s.error().message();
      std::memset(model.data() + op.offset, 0, op.length);
      break;
    }
    case Op::kDiscard: {
      auto s = img.discard(op.offset, op.length);
      ASSERT_TRUE(s.ok()) << what << ": " << s.error().message();
      const uint64_t first = (op.offset + cs - 1) / cs * cs, last = (op.offset + op.length) / cs * cs;
      if (last > first) std::memset(model.data() + first, 0, last - first);
      break;
    }
  }
}

void expect_model(Image& img, const std::vector<uint8_t>& model, const std::string& what) {
  std::vector<uint8_t> got(model.size());
  auto s = img.read(0, got);
  ASSERT_TRUE(s.ok()) << what << ": " << s.error().message();
  for (size_t i = 0; i < model.size(); ++i)
    ASSERT_EQ(got[i], model[i]) << what << ": byte " << i;
}

// Every byte of the model checked by qemu-io, run by run of equal bytes.
void expect_qemu_model(const TempDir& dir, const std::string& name, const std::vector<uint8_t>& model,
                       const std::string& what) {
  std::string args;
  int commands = 0;
  for (size_t i = 0; i < model.size();) {
    size_t j = i;
    while (j < model.size() && model[j] == model[i]) ++j;
    args += " -c 'read -P " + std::to_string(model[i]) + " " + std::to_string(i) + " " + std::to_string(j - i) + "'";
    ++commands;
    i = j;
  }
  auto r = run(dir.path(), "qemu-io -r" + args + " " + name);
  EXPECT_EQ(r.status, 0) << what << r.output;
  EXPECT_EQ(r.output.find("Pattern verification failed"), std::string::npos) << what << "\n" << r.output;
}

TEST(Qcow2Write, AllocatingWritesEveryClusterSizeAndRefcountWidth) {
  REQUIRE_QEMU_TOOLS();
  const uint64_t size = 4 << 20;
  struct Case {
    uint32_t cs;
    const char* compat;
    int refcount_bits;
  };
  const std::vector<Case> cases = {{512, "1.1", 16}, {512, "0.10", 16}, {4096, "1.1", 1}, {4096, "1.1", 2},
                                   {4096, "1.1", 4},  {4096, "1.1", 8},  {4096, "1.1", 32}, {4096, "1.1", 64},
                                   {65536, "1.1", 16}, {65536, "0.10", 16}, {2u << 20, "1.1", 16}};
  for (const auto& c : cases) {
    const std::string what = "cs=" + std::to_string(c.cs) + " compat=" + c.compat +
                             " refcount_bits=" + std::to_string(c.refcount_bits);
    TempDir dir;
    std::string opts = "cluster_size=" + std::to_string(c.cs) + ",compat=" + c.compat;
    if (std::string(c.compat) == "1.1") opts += ",refcount_bits=" + std::to_string(c.refcount_bits);
    auto r = run(dir.path(), "qemu-img create -q -f qcow2 -o " + opts + " img.qcow2 " + std::to_string(size));
    ASSERT_EQ(r.status, 0) << r.output;
    ASSERT_EQ(run(dir.path(), "qemu-io -c 'write -P 0x11 0 100k' img.qcow2").status, 0);
    std::vector<uint8_t> model(size, 0);
    std::memset(model.data(), 0x11, 100 << 10);
    MemoryImageFile file(read_file(dir.file("img.qcow2")));
    {
      auto img = Image::open(file, OpenOptions{});
      ASSERT_TRUE(img.ok()) << what << ": " << img.error().message();
      const std::vector<Op> ops = {
          {Op::kWrite, 50 << 10, 100 << 10, 0x22},   {Op::kWrite, 1 << 20, 4096, 0x33},
          {Op::kWrite, (3 << 20) + 100, 777, 0x44},  {Op::kWrite, size - 1, 1, 0x55},
          {Op::kWrite, 1 << 20, 512, 0x66},          {Op::kZeroes, 60 << 10, 20 << 10, 0},
          {Op::kDiscard, 2 << 20, 1 << 20, 0},       {Op::kWrite, (2 << 20) + 4096, 8192, 0x77},
          {Op::kDiscard, 0, 30 << 10, 0},            {Op::kZeroes, (3 << 20) - 1000, 3000, 0},
          {Op::kWrite, 10, 70000, 0x88}};
      for (const auto& op : ops) {
        apply(**img, model, op, c.cs, what);
        if (HasFatalFailure()) return;
      }
      expect_model(**img, model, what);
      ASSERT_TRUE((*img)->flush().ok());
    }
    write_file(dir.file("img.qcow2"), file.bytes());
    expect_check_clean(dir, "img.qcow2", what);
    expect_qemu_model(dir, "img.qcow2", model, what);
  }
}

TEST(Qcow2Write, RefcountTableGrows) {
  REQUIRE_QEMU_TOOLS();
  // 512-byte clusters: one refcount table cluster covers 8 MiB; writing 20 MiB grows it.
  TempDir dir;
  const uint64_t size = 24 << 20;
  ASSERT_EQ(run(dir.path(), "qemu-img create -q -f qcow2 -o cluster_size=512 img.qcow2 " + std::to_string(size)).status, 0);
  MemoryImageFile file(read_file(dir.file("img.qcow2")));
  auto img = Image::open(file, OpenOptions{});
  ASSERT_TRUE(img.ok()) << img.error().message();
  const uint32_t before = (*img)->header().refcount_table_clusters;
  std::vector<uint8_t> data(1 << 20);
  for (uint64_t off = 0; off < (20u << 20); off += data.size()) {
    std::memset(data.data(), static_cast<int>(off >> 20) + 1, data.size());
    auto s = (*img)->write(off, data);
    ASSERT_TRUE(s.ok()) << off << ": " << s.error().message();
  }
  EXPECT_GT((*img)->header().refcount_table_clusters, before);
  ASSERT_TRUE((*img)->flush().ok());
  write_file(dir.file("img.qcow2"), file.bytes());
  expect_check_clean(dir, "img.qcow2", "grown refcount table");
  for (uint64_t off = 0; off < (20u << 20); off += data.size())
    expect_qemu_reads(dir, "img.qcow2", off, data.size(), static_cast<uint8_t>((off >> 20) + 1), "grown");
}

TEST(Qcow2Write, SnapshotIsLeftAsItWas) {
  REQUIRE_QEMU_TOOLS();
  for (uint32_t cs : {512u, 65536u}) {
    const std::string what = "cs=" + std::to_string(cs);
    TempDir dir;
    ASSERT_EQ(run(dir.path(), "qemu-img create -q -f qcow2 -o cluster_size=" + std::to_string(cs) + " img.qcow2 2M").status, 0);
    ASSERT_EQ(run(dir.path(), "qemu-io -c 'write -P 0xab 0 1M' img.qcow2").status, 0);
    ASSERT_EQ(run(dir.path(), "qemu-img snapshot -c before img.qcow2").status, 0);
    MemoryImageFile file(read_file(dir.file("img.qcow2")));
    std::vector<uint8_t> model(2 << 20, 0);
    std::memset(model.data(), 0xab, 1 << 20);
    {
      auto img = Image::open(file, OpenOptions{});
      ASSERT_TRUE(img.ok()) << img.error().message();
      apply(**img, model, {Op::kWrite, 1000, 5000, 0xcd}, cs, what);
      apply(**img, model, {Op::kWrite, 512 << 10, 128 << 10, 0xce}, cs, what);
      apply(**img, model, {Op::kDiscard, 0, 256 << 10, 0}, cs, what);
      apply(**img, model, {Op::kZeroes, 768 << 10, 64 << 10, 0}, cs, what);
      apply(**img, model, {Op::kWrite, 1000, 10, 0xcf}, cs, what);
      expect_model(**img, model, what);
    }
    write_file(dir.file("img.qcow2"), file.bytes());
    expect_check_clean(dir, "img.qcow2", what);
    expect_qemu_model(dir, "img.qcow2", model, what);
    ASSERT_EQ(run(dir.path(), "qemu-img snapshot -a before img.qcow2").status, 0);
    expect_qemu_reads(dir, "img.qcow2", 0, 1 << 20, 0xab, what + " snapshot");
    expect_qemu_reads(dir, "img.qcow2", 1 << 20, 1 << 20, 0, what + " snapshot");
    expect_check_clean(dir, "img.qcow2", what + " after applying the snapshot");
  }
}

TEST(Qcow2Write, OverCompressedClustersAndOverlay) {
  REQUIRE_QEMU_TOOLS();
  TempDir dir;
  std::vector<uint8_t> raw(1 << 20);
  for (size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<uint8_t>((i / 64) % 13);
  write_file(dir.file("raw"), raw);
  ASSERT_EQ(run(dir.path(), "qemu-img convert -c -f raw -O qcow2 -o cluster_size=4096 raw img.qcow2").status, 0);
  MemoryImageFile file(read_file(dir.file("img.qcow2")));
  std::vector<uint8_t> model = raw;
  {
    auto img = Image::open(file, OpenOptions{});
    ASSERT_TRUE(img.ok()) << img.error().message();
    apply(**img, model, {Op::kWrite, 5000, 3000, 0xee}, 4096, "compressed");
    apply(**img, model, {Op::kDiscard, 64 << 10, 64 << 10, 0}, 4096, "compressed");
    apply(**img, model, {Op::kZeroes, 200 << 10, 10000, 0}, 4096, "compressed");
    expect_model(**img, model, "compressed");
  }
  write_file(dir.file("img.qcow2"), file.bytes());
  expect_check_clean(dir, "img.qcow2", "compressed");
  ASSERT_EQ(run(dir.path(), "qemu-img convert -f qcow2 -O raw img.qcow2 out.raw").status, 0);
  EXPECT_EQ(read_file(dir.file("out.raw")), model);

  // An overlay: discard and zeroing hide the base (zero clusters), writes copy the rest of
  // the cluster from it.
  for (const char* compat : {"0.10", "1.1"}) {
    ASSERT_EQ(run(dir.path(), std::string("qemu-img create -q -f qcow2 -o cluster_size=4096,compat=") + compat +
                                  " -b raw -F raw over.qcow2 1M").status, 0);
    MemoryImageFile over(read_file(dir.file("over.qcow2")));
    MemoryBacking backing(raw);
    std::vector<uint8_t> m = raw;
    {
      auto img = Image::open(over, OpenOptions{.backing = &backing});
      ASSERT_TRUE(img.ok()) << img.error().message();
      apply(**img, m, {Op::kWrite, 100, 10, 0x99}, 4096, compat);
      apply(**img, m, {Op::kDiscard, 8192, 8192, 0}, 4096, compat);
      apply(**img, m, {Op::kZeroes, 30000, 20000, 0}, 4096, compat);
      expect_model(**img, m, compat);
    }
    write_file(dir.file("over.qcow2"), over.bytes());
    expect_check_clean(dir, "over.qcow2", compat);
    ASSERT_EQ(run(dir.path(), "qemu-img convert -f qcow2 -O raw over.qcow2 over.raw").status, 0);
    EXPECT_EQ(read_file(dir.file("over.raw")), m) << compat;
  }
}

TEST(Qcow2Write, OverPreallocatedZeroClusters) {
  REQUIRE_QEMU_TOOLS();
  TempDir dir;
  ASSERT_EQ(run(dir.path(), "qemu-img create -q -f qcow2 -o cluster_size=4096 img.qcow2 1M").status, 0);
  // write -z without -u keeps the clusters allocated with the zero flag set.
  ASSERT_EQ(run(dir.path(), "qemu-io -c 'write -P 0x42 0 64k' -c 'write -z 0 32k' img.qcow2").status, 0);
  std::vector<uint8_t> model(1 << 20, 0);
  std::memset(model.data() + (32 << 10), 0x42, 32 << 10);
  MemoryImageFile file(read_file(dir.file("img.qcow2")));
  {
    auto img = Image::open(file, OpenOptions{});
    ASSERT_TRUE(img.ok()) << img.error().message();
    expect_model(**img, model, "preallocated zero");
    apply(**img, model, {Op::kWrite, 100, 200, 0x43}, 4096, "preallocated zero");
    apply(**img, model, {Op::kWrite, 8192, 4096, 0x44}, 4096, "preallocated zero");
    apply(**img, model, {Op::kDiscard, 16384, 4096, 0}, 4096, "preallocated zero");
    expect_model(**img, model, "preallocated zero");
  }
  write_file(dir.file("img.qcow2"), file.bytes());
  expect_check_clean(dir, "img.qcow2", "preallocated zero");
  expect_qemu_model(dir, "img.qcow2", model, "preallocated zero");
}

TEST(Qcow2Write, NeverGrowsPastTheBound) {
  REQUIRE_QEMU_TOOLS();
  TempDir dir;
  ASSERT_EQ(run(dir.path(), "qemu-img create -q -f qcow2 -o cluster_size=4096 img.qcow2 1M").status, 0);
  auto bytes = read_file(dir.file("img.qcow2"));
  MemoryImageFile file(bytes);
  const uint64_t bound = bytes.size() + 10 * 4096;
  auto img = Image::open(file, OpenOptions{.max_file_size = bound});
  ASSERT_TRUE(img.ok()) << img.error().message();
  auto s = (*img)->write(0, std::vector<uint8_t>(1 << 20, 7));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("full"), std::string::npos) << s.error().message();
  EXPECT_LE(file.bytes().size(), bound);
  // The default bound: a full image fits.
  MemoryImageFile file2(bytes);
  auto img2 = Image::open(file2, OpenOptions{});
  ASSERT_TRUE(img2.ok());
  ASSERT_TRUE((*img2)->write(0, std::vector<uint8_t>(1 << 20, 7)).ok());
  EXPECT_LE(file2.bytes().size(), (1u << 20) + metadata_bound((*img2)->header()));
}

TEST(Qcow2Write, ReadOnlyRefusesWrites) {
  REQUIRE_QEMU_TOOLS();
  TempDir dir;
  ASSERT_EQ(run(dir.path(), "qemu-img create -q -f qcow2 img.qcow2 1M").status, 0);
  MemoryImageFile file(read_file(dir.file("img.qcow2")));
  auto img = Image::open(file, OpenOptions{.read_only = true});
  ASSERT_TRUE(img.ok());
  EXPECT_FALSE((*img)->write(0, std::vector<uint8_t>(10)).ok());
  EXPECT_FALSE((*img)->discard(0, 65536).ok());
  EXPECT_FALSE((*img)->write_zeroes(0, 65536).ok());
  EXPECT_FALSE((*img)->write(0, std::vector<uint8_t>(10)).ok());
  auto rw = Image::open(file, OpenOptions{});
  ASSERT_TRUE(rw.ok());
  EXPECT_FALSE((*rw)->write((1 << 20) - 5, std::vector<uint8_t>(10)).ok());  // past the virtual size
  EXPECT_FALSE((*rw)->write(UINT64_MAX - 3, std::vector<uint8_t>(10)).ok());  // wraps
}

TEST(Qcow2Dirty, LazyRefcountsRebuiltAtWritableOpen) {
  REQUIRE_QEMU_TOOLS();
  for (uint32_t cs : {512u, 65536u}) {
    const std::string what = "cs=" + std::to_string(cs);
    TempDir dir;
    ASSERT_EQ(run(dir.path(), "qemu-img create -q -f qcow2 -o cluster_size=" + std::to_string(cs) +
                                  ",lazy_refcounts=on img.qcow2 4M").status, 0);
    ASSERT_EQ(run(dir.path(), "qemu-io -c 'write -P 0x12 0 64k' img.qcow2").status, 0);
    ASSERT_EQ(run(dir.path(), "qemu-img snapshot -c s img.qcow2").status, 0);
    // qemu-io's abort leaves the dirty bit set and the refcounts stale.
    run(dir.path(), "qemu-io -c 'write -P 0x34 1M 1M' -c 'write -P 0x56 0 4k' -c abort img.qcow2");
    auto bytes = read_file(dir.file("img.qcow2"));
    auto h = parse_header(bytes, bytes.size());
    ASSERT_TRUE(h.ok());
    ASSERT_TRUE(h->dirty) << what;
    EXPECT_NE(run(dir.path(), "qemu-img check img.qcow2").status, 0) << what << ": stale refcounts expected";
    MemoryImageFile file(bytes);
    {
      auto img = Image::open(file, OpenOptions{});
      ASSERT_TRUE(img.ok()) << img.error().message();
      EXPECT_FALSE((*img)->header().dirty);
      ASSERT_TRUE((*img)->write(3 << 20, std::vector<uint8_t>(8192, 0x78)).ok());
      ASSERT_TRUE((*img)->flush().ok());
    }
    write_file(dir.file("img.qcow2"), file.bytes());
    expect_check_clean(dir, "img.qcow2", what);
    expect_qemu_reads(dir, "img.qcow2", 0, 4096, 0x56, what);
    expect_qemu_reads(dir, "img.qcow2", 4096, 60 << 10, 0x12, what);
    expect_qemu_reads(dir, "img.qcow2", 1 << 20, 1 << 20, 0x34, what);
    expect_qemu_reads(dir, "img.qcow2", 3 << 20, 8192, 0x78, what);
  }
}

}  // namespace
}  // namespace bulwark::qcow2

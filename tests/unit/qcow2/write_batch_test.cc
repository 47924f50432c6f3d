// Metadata write-back batching: a sequential run of allocating writes costs one file write per
// request (its data) and, at the FLUSH, one write per changed refcount block, L2 table and run
// of L1 entries, not one refcount write per request; and a power cut at every single write or
// flush of such a run leaves an image `qemu-img check` finds free of corruption, with every
// byte written before the last completed FLUSH readable.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "devices/blk/qcow2/qcow2_image.h"
#include "tests/unit/qcow2/power_cut_file.h"
#include "tests/unit/qcow2/qemu_tools.h"

namespace bulwark::qcow2 {
namespace {
using namespace test;

// Counts the writes and flushes the library makes (what a pwritev / fdatasync would be).
class CountingFile final : public ImageFile {
 public:
  explicit CountingFile(std::vector<uint8_t> bytes) : inner_(std::move(bytes)) {}
  uint64_t size() const override { return inner_.size(); }
  Status read_at(uint64_t offset, std::span<uint8_t> data) override { return inner_.read_at(offset, data); }
  Status write_at(uint64_t offset, std::span<const uint8_t> data) override {
    ++writes;
    bytes_written += data.size();
    return inner_.write_at(offset, data);
  }
  Status flush() override {
    ++flushes;
    return inner_.flush();
  }
  const std::vector<uint8_t>& bytes() const { return inner_.bytes(); }
  uint64_t writes = 0, flushes = 0, bytes_written = 0;

 private:
  MemoryImageFile inner_;
};

TEST(Qcow2WriteBatch, SequentialAllocatingRunCostsOneDataWriteEachPlusOneWritePerTable) {
  REQUIRE_QEMU_TOOLS();
  TempDir dir;
  ASSERT_EQ(run(dir.path(), "qemu-img create -q -f qcow2 -o cluster_size=65536 img.qcow2 64M").status, 0);
  CountingFile file(read_file(dir.file("img.qcow2")));
  constexpr uint64_t kCluster = 65536;
  constexpr uint64_t kRun = 32;
  {
    auto img = Image::open(file, OpenOptions{});
    ASSERT_TRUE(img.ok()) << img.error().message();
    file.writes = file.flushes = 0;
    for (uint64_t i = 0; i < kRun; ++i) {
      const std::vector<uint8_t> data(kCluster, static_cast<uint8_t>(0x40 + i));
      ASSERT_TRUE((*img)->write(i * kCluster, data).ok()) << i;
    }
    // Before the FLUSH only the data has been written.
    EXPECT_EQ(file.writes, kRun);
    ASSERT_TRUE((*img)->flush().ok());
    // Data, then one refcount block range, the new L2 table, and its L1 entry. Writing each
    // refcount through (as before) cost kRun more: 2 * kRun + 2.
    EXPECT_EQ(file.writes, kRun + 3);
    EXPECT_LT(file.writes, 2 * kRun + 2);
    // Refcounts before the FLUSH, L2 table, FLUSH, L1 entry, the guest FLUSH's own FLUSH.
    EXPECT_EQ(file.flushes, 3u);
  }
  write_file(dir.file("after.qcow2"), file.bytes());
  auto check = run(dir.path(), "qemu-img check after.qcow2");
  EXPECT_EQ(check.status, 0) << check.output;
  std::string reads;
  for (uint64_t i = 0; i < kRun; ++i) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned>(0x40 + i));
    reads += " -c 'read -P " + std::string(hex) + " " + std::to_string(i * kCluster) + " 64k'";
  }
  auto r = run(dir.path(), "qemu-io -r" + reads + " -c 'read -P 0 2M 62M' after.qcow2");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find("Pattern verification failed"), std::string::npos) << r.output;
}

// A small write into a new cluster past the end of the file writes the guest's bytes, not a
// whole cluster of mostly zeros: the file reads as zeros there already. QEMU reads the short
// last cluster the same way (check clean, the zeros around the data read back).
TEST(Qcow2WriteBatch, ASmallWriteIntoANewClusterAtTheEndOfTheFileWritesOnlyItsBytes) {
  REQUIRE_QEMU_TOOLS();
  TempDir dir;
  ASSERT_EQ(run(dir.path(), "qemu-img create -q -f qcow2 -o cluster_size=65536 img.qcow2 16M").status, 0);
  CountingFile file(read_file(dir.file("img.qcow2")));
  {
    auto img = Image::open(file, OpenOptions{});
    ASSERT_TRUE(img.ok()) << img.error().message();
    file.bytes_written = 0;
    const std::vector<uint8_t> a(4096, 0xa1), b(4096, 0xb2);
    ASSERT_TRUE((*img)->write(4096, a).ok());
    EXPECT_EQ(file.bytes_written, 4096u) << "a whole 64 KiB cluster was written for 4 KiB";
    ASSERT_TRUE((*img)->write(5 << 20, b).ok());  // another new cluster, further on
    EXPECT_EQ(file.bytes_written, 8192u);
    ASSERT_TRUE((*img)->flush().ok());
    std::vector<uint8_t> got(65536);
    ASSERT_TRUE((*img)->read(0, got).ok());
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(got[i], i >= 4096 && i < 8192 ? 0xa1 : 0) << i;
  }
  write_file(dir.file("after.qcow2"), file.bytes());
  auto check = run(dir.path(), "qemu-img check after.qcow2");
  EXPECT_EQ(check.status, 0) << check.output;
  auto r = run(dir.path(), "qemu-io -r -c 'read -P 0 0 4k' -c 'read -P 0xa1 4k 4k' -c 'read -P 0 8k 56k' "
                           "-c 'read -P 0xb2 5M 4k' -c 'read -P 0 5124k 60k' after.qcow2");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find("Pattern verification failed"), std::string::npos) << r.output;
}

// One step of the run the power-cut test replays.
struct Step {
  enum Kind { kWrite, kDiscard, kFlush } kind;
  uint64_t offset = 0, length = 0;
};

// Sequential allocating writes in 512-byte clusters (an L2 table maps 32 KiB, a refcount
// block counts 128 KiB of the file) crossing into a new L2 table, so a new table, an L1 entry
// and new refcount blocks are written; flushes between; a discard (its frees come after the
// write-back); and two-cluster writes into another new table.
constexpr uint64_t kBatchCluster = 512;
std::vector<Step> batched_run() {
  constexpr uint64_t cs = kBatchCluster;
  constexpr uint64_t l2_span = cs / 8 * cs;
  const uint64_t base = 6 * l2_span - 4 * cs;  // past the image's existing data (128 KiB)
  std::vector<Step> steps;
  for (uint64_t i = 0; i < 8; ++i) steps.push_back({Step::kWrite, base + i * cs, cs});
  steps.push_back({Step::kFlush});
  for (uint64_t i = 8; i < 14; ++i) steps.push_back({Step::kWrite, base + i * cs, cs});
  steps.push_back({Step::kDiscard, base, 4 * cs});
  steps.push_back({Step::kFlush});
  for (uint64_t i = 0; i < 6; ++i) steps.push_back({Step::kWrite, 12 * l2_span + i * 2 * cs, 2 * cs});
  steps.push_back({Step::kFlush});
  return steps;
}

TEST(Qcow2WriteBatch, PowerCutAtEveryWriteOfABatchedRunLeavesCheckCleanAndFlushedDataIntact) {
  REQUIRE_QEMU_TOOLS();
  constexpr uint64_t cs = kBatchCluster, size = 1 << 20;
  TempDir dir;
  ASSERT_EQ(run(dir.path(), "qemu-img create -q -f qcow2 -o cluster_size=512 img.qcow2 1M").status, 0);
  ASSERT_EQ(run(dir.path(), "qemu-io -c 'write -P 0x11 0 128k' img.qcow2").status, 0);
  const auto start = read_file(dir.file("img.qcow2"));
  const std::vector<Step> steps = batched_run();
  // Default caches (everything batched until the FLUSH), and caches of two tables (dirty
  // refcount blocks and L2 tables also written back under pressure, between the FLUSHes).
  for (size_t cache : {size_t{1} << 20, size_t{2} * cs}) {
    const OpenOptions options{.l2_cache_bytes = cache, .refcount_cache_bytes = cache};
    uint64_t total = 0;  // writes and flushes of the whole run
    {
      PowerCutFile file(start);
      auto img = Image::open(file, options);
      ASSERT_TRUE(img.ok()) << img.error().message();
      const uint64_t opened = file.events();
      for (const Step& s : steps) {
        std::vector<uint8_t> data(s.length, 0x22);
        Status st = ok_status();
        if (s.kind == Step::kWrite) st = (*img)->write(s.offset, data);
        if (s.kind == Step::kDiscard) st = (*img)->discard(s.offset, s.length);
        if (s.kind == Step::kFlush) st = (*img)->flush();
        ASSERT_TRUE(st.ok()) << st.error().message();
      }
      total = file.events() - opened;
    }
    ASSERT_GT(total, steps.size());
    for (uint64_t cut = 1; cut <= total; ++cut) {
      const std::string what = "cache=" + std::to_string(cache) + " cut at event " + std::to_string(cut) +
                               " of " + std::to_string(total);
      std::mt19937 rng(static_cast<uint32_t>(cut * 7 + cache));
      PowerCutFile file(start);
      std::vector<uint8_t> model(size, 0);
      std::memset(model.data(), 0x11, 128 << 10);
      std::vector<uint8_t> flushed = model, flushed_at_cut;
      std::vector<bool> dirty(size, false), dirty_at_cut;
      {
        auto img = Image::open(file, options);
        ASSERT_TRUE(img.ok()) << img.error().message();
        file.cut_power_at(file.events() + cut, &rng, [&] {
          flushed_at_cut = flushed;
          dirty_at_cut = dirty;
        });
        uint8_t pattern = 0x30;
        for (const Step& s : steps) {
          if (s.kind == Step::kFlush) {
            ASSERT_TRUE((*img)->flush().ok()) << what;
            flushed = model;
            std::fill(dirty.begin(), dirty.end(), false);
            continue;
          }
          for (uint64_t b = s.offset; b < s.offset + s.length; ++b) dirty[b] = true;
          if (s.kind == Step::kWrite) {
            const std::vector<uint8_t> data(s.length, ++pattern);
            ASSERT_TRUE((*img)->write(s.offset, data).ok()) << what;
            std::memcpy(model.data() + s.offset, data.data(), s.length);
          } else {
            ASSERT_TRUE((*img)->discard(s.offset, s.length).ok()) << what;
            std::memset(model.data() + s.offset, 0, s.length);
          }
        }
        ASSERT_TRUE(file.cut()) << what;
      }
      write_file(dir.file("crashed.qcow2"), file.after_cut());
      auto r = run(dir.path(), "qemu-img check crashed.qcow2");
      // 0: clean; 3: leaked clusters only. 2 would be corruption.
      ASSERT_TRUE(r.status == 0 || r.status == 3) << what << ":\n" << r.output;
      EXPECT_EQ(r.output.find("ERROR"), std::string::npos) << what << ":\n" << r.output;
      MemoryImageFile after(file.after_cut());
      auto img = Image::open(after, OpenOptions{.read_only = true});
      ASSERT_TRUE(img.ok()) << what << ": " << img.error().message();
      std::vector<uint8_t> got(size);
      ASSERT_TRUE((*img)->read(0, got).ok()) << what;
      uint64_t lost = size;  // the first flushed byte that does not read back
      for (uint64_t b = 0; b < size && lost == size; ++b)
        if (!dirty_at_cut[b] && got[b] != flushed_at_cut[b]) lost = b;
      ASSERT_EQ(lost, size) << what << ": flushed byte " << lost << " lost";
    }
  }
}

}  // namespace
}  // namespace bulwark::qcow2

// Power cuts, simulated: an ImageFile that keeps what was flushed apart from what was written
// since, and at a "crash" keeps a random subset of the unflushed writes (in any order). The
// cut comes at a random write or flush of the file, so also in the middle of a guest write or
// of a metadata write-back. After each cut `qemu-img check` finds no corruption (leaks
// allowed) and every byte the guest wrote before its last completed FLUSH reads back.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>

#include "devices/blk/qcow2/qcow2_image.h"
#include "tests/unit/qcow2/power_cut_file.h"
#include "tests/unit/qcow2/qemu_tools.h"

namespace bulwark::qcow2 {
namespace {
using namespace test;

TEST(Qcow2Crash, PowerCutsLeaveNoCorruptionAndKeepFlushedWrites) {
  REQUIRE_QEMU_TOOLS();
  const uint64_t size = 1 << 20;
  // 200 cuts by default, spread over the four image kinds; the asan run asks for fewer (the
  // sanitizers need no more to see a memory error, and each cut runs qemu-img check).
  const char* env = std::getenv("BULWARK_QCOW2_CRASH_ITERATIONS");
  const int wanted = env != nullptr ? std::max(4, std::atoi(env)) : 200;
  const int rounds = wanted / 4;
  for (uint32_t cs : {512u, 4096u}) {
    for (bool snapshot : {false, true}) {
      TempDir dir;
      ASSERT_EQ(run(dir.path(), "qemu-img create -q -f qcow2 -o cluster_size=" + std::to_string(cs) + " img.qcow2 1M").status, 0);
      ASSERT_EQ(run(dir.path(), "qemu-io -c 'write -P 0x11 0 256k' img.qcow2").status, 0);
      if (snapshot) {
        ASSERT_EQ(run(dir.path(), "qemu-img snapshot -c s img.qcow2").status, 0);
      }
      const auto start = read_file(dir.file("img.qcow2"));
      std::mt19937 rng(cs * 2 + snapshot);
      for (int round = 0; round < rounds; ++round) {
        const std::string what = "cs=" + std::to_string(cs) + " snapshot=" + std::to_string(snapshot) +
                                 " round=" + std::to_string(round);
        PowerCutFile file(start);
        std::vector<uint8_t> model(size, 0), flushed;
        std::memset(model.data(), 0x11, 256 << 10);
        flushed = model;
        std::vector<bool> dirty(size, false);  // written since the last completed flush
        std::vector<uint8_t> crashed;
        // What the guest may count on at the moment of the cut.
        std::vector<uint8_t> flushed_at_cut;
        std::vector<bool> dirty_at_cut;
        {
          // Small caches: write-backs also happen when dirty L2 tables fill the budget.
          auto img = Image::open(file, OpenOptions{.l2_cache_bytes = 4 * cs, .refcount_cache_bytes = 4 * cs});
          file.cut_power_at(1 + file.events() + rng() % 120, &rng, [&] {
            flushed_at_cut = flushed;
            dirty_at_cut = dirty;
          });
          ASSERT_TRUE(img.ok()) << img.error().message();
          const int ops = 5 + static_cast<int>(rng() % 30);
          for (int i = 0; i < ops; ++i) {
            const uint64_t off = rng() % size;
            const uint64_t len = std::min<uint64_t>(size - off, 1 + rng() % (3 * cs));
            const int kind = static_cast<int>(rng() % 10);
            // The bytes an operation touches count as unflushed from before it starts.
            if (kind < 8)
              for (uint64_t b = off; b < off + len; ++b) dirty[b] = true;
            if (kind < 6) {
              std::vector<uint8_t> data(len, static_cast<uint8_t>(rng()));
              ASSERT_TRUE((*img)->write(off, data).ok()) << what;
              std::memcpy(model.data() + off, data.data(), len);
            } else if (kind == 6) {
              ASSERT_TRUE((*img)->discard(off, len).ok()) << what;
              const uint64_t first = (off + cs - 1) / cs * cs, last = (off + len) / cs * cs;
              if (last > first) std::memset(model.data() + first, 0, last - first);
            } else if (kind == 7) {
              ASSERT_TRUE((*img)->write_zeroes(off, len).ok()) << what;
              std::memset(model.data() + off, 0, len);
            } else {
              ASSERT_TRUE((*img)->flush().ok()) << what;
              flushed = model;
              std::fill(dirty.begin(), dirty.end(), false);
              continue;
            }
          }
          if (!file.cut()) {  // no cut during the operations: the power goes now
            flushed_at_cut = flushed;
            dirty_at_cut = dirty;
            crashed = file.crash(rng);
          } else {
            crashed = file.after_cut();
          }
        }
        write_file(dir.file("crashed.qcow2"), crashed);
        auto r = run(dir.path(), "qemu-img check crashed.qcow2");
        // 0: clean; 3: leaked clusters only. 2 would be corruption.
        ASSERT_TRUE(r.status == 0 || r.status == 3) << what << ":\n" << r.output;
        EXPECT_EQ(r.output.find("ERROR"), std::string::npos) << what << ":\n" << r.output;
        MemoryImageFile after(crashed);
        auto img = Image::open(after, OpenOptions{.read_only = true});
        ASSERT_TRUE(img.ok()) << what << ": " << img.error().message();
        std::vector<uint8_t> got(size);
        ASSERT_TRUE((*img)->read(0, got).ok()) << what;
        for (uint64_t b = 0; b < size; ++b) {
          if (dirty_at_cut[b]) continue;
          ASSERT_EQ(got[b], flushed_at_cut[b]) << what << ": flushed byte " << b << " lost";
        }
        if (snapshot && round == 0) {
          ASSERT_EQ(run(dir.path(), "qemu-img check -r leaks crashed.qcow2").status, 0) << what;
          ASSERT_EQ(run(dir.path(), "qemu-img snapshot -a s crashed.qcow2").status, 0) << what;
          auto rr = run(dir.path(), "qemu-io -r -c 'read -P 0x11 0 256k' -c 'read -P 0 256k 768k' crashed.qcow2");
          EXPECT_EQ(rr.output.find("Pattern verification failed"), std::string::npos) << what << rr.output;
        }
      }
    }
  }
}

}  // namespace
}  // namespace bulwark::qcow2

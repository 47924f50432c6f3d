#include "jailer/svirt/mcs_pair.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <set>

#include "tests/unit/ids/concurrent_children.h"
#include "tests/unit/ids/temp_dir.h"

namespace bulwark::jailer {
namespace {

using testing_support::TempDir;

McsConfig config_in(const TempDir& tmp, uint16_t first, uint16_t last, McsOrder order) {
  McsConfig config;
  config.run_dir = tmp.path() / "mcs";
  config.first_category = first;
  config.last_category = last;
  config.order = order;
  return config;
}

TEST(McsPair, DefaultsCoverC0ToC1023UnderRunBulwarkMcs) {
  const McsConfig config;
  EXPECT_EQ(config.run_dir, "/run/bulwark/mcs");
  EXPECT_EQ(config.first_category, 0);
  EXPECT_EQ(config.last_category, 1023);
}

TEST(McsPair, SequentialOrderTakesPairsInOrder) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  const auto config = config_in(tmp, 0, 1023, McsOrder::kSequential);
  auto a = allocate_mcs_pair(config, "vm-a");
  ASSERT_TRUE(a.ok()) << a.error().message();
  auto b = allocate_mcs_pair(config, "vm-b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->pair(), (McsPair{0, 1}));
  EXPECT_EQ(b->pair(), (McsPair{0, 2}));
  EXPECT_TRUE(std::filesystem::exists(tmp.path() / "mcs/c0,c1.lock"));
}

// c0..c3 has 6 pairs; every one is handed out once, always as two distinct ordered categories.
void expect_all_pairs_distinct_then_exhausted(McsOrder order) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  const auto config = config_in(tmp, 0, 3, order);
  std::vector<McsReservation> held;
  std::set<std::pair<int, int>> seen;
  for (int i = 0; i < 6; ++i) {
    auto r = allocate_mcs_pair(config, "vm-" + std::to_string(i));
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_LT(r->pair().low, r->pair().high);
    EXPECT_LE(r->pair().high, 3);
    EXPECT_TRUE(seen.insert({r->pair().low, r->pair().high}).second) << r->pair().categories();
    held.push_back(std::move(*r));
  }
  auto seventh = allocate_mcs_pair(config, "vm-6");
  ASSERT_FALSE(seventh.ok());
  EXPECT_EQ(seventh.error().message(),
            "MCS pair: no free category pair in c0..c3: all 6 pairs are held by live VMs "
            "(reservations in " + (tmp.path() / "mcs").string() + ")");
}

TEST(McsPair, RandomOrderNeverRepeatsALivePairAndReportsExhaustion) {
  expect_all_pairs_distinct_then_exhausted(McsOrder::kRandom);
}

TEST(McsPair, SequentialOrderNeverRepeatsALivePairAndReportsExhaustion) {
  expect_all_pairs_distinct_then_exhausted(McsOrder::kSequential);
}

TEST(McsPair, RandomPairsAlwaysHaveTwoDistinctCategoriesInRange) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  const auto config = config_in(tmp, 100, 110, McsOrder::kRandom);
  for (int i = 0; i < 200; ++i) {
    auto r = allocate_mcs_pair(config, "vm");
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_LT(r->pair().low, r->pair().high);
    EXPECT_GE(r->pair().low, 100);
    EXPECT_LE(r->pair().high, 110);
  }
}

TEST(McsPair, ConcurrentProcessesNeverShareAPair) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  const auto config = config_in(tmp, 0, 3, McsOrder::kRandom);
  std::optional<McsReservation> kept;
  auto results = testing_support::run_in_concurrent_children(10, [&] {
    auto r = allocate_mcs_pair(config, "vm-" + std::to_string(::getpid()));
    if (!r) return "error: " + r.error().message();
    const std::string text = r->pair().categories();
    kept.emplace(std::move(*r));
    return text;
  });
  ASSERT_EQ(results.size(), 10u);
  std::set<std::string> granted;
  int exhausted = 0;
  for (const auto& r : results) {
    if (r.rfind("error: ", 0) == 0) {
      EXPECT_NE(r.find("all 6 pairs are held by live VMs"), std::string::npos) << r;
      ++exhausted;
    } else {
      EXPECT_TRUE(granted.insert(r).second) << "pair handed out twice: " << r;
    }
  }
  EXPECT_EQ(granted, (std::set<std::string>{"c0,c1", "c0,c2", "c0,c3", "c1,c2", "c1,c3", "c2,c3"}));
  EXPECT_EQ(exhausted, 4);
}

TEST(McsPair, ReleasedAtDestructionAndStaleFilesReclaimed) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  const auto config = config_in(tmp, 7, 8, McsOrder::kRandom);  // exactly one pair
  {
    auto r = allocate_mcs_pair(config, "vm-a");
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(allocate_mcs_pair(config, "vm-b").ok());
  }
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "mcs/c7,c8.lock"));
  std::ofstream(tmp.path() / "mcs/c7,c8.lock") << "pid=4000\nvm=dead\n";
  auto r = allocate_mcs_pair(config, "vm-c");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->pair(), (McsPair{7, 8}));
  EXPECT_TRUE(r->reservation().reclaimed_stale());
}

TEST(McsPair, RefusesRangesWithoutTwoCategoriesOrBeyondC1023) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  EXPECT_EQ(allocate_mcs_pair(config_in(tmp, 5, 5, McsOrder::kRandom), "vm").error().message(),
            "MCS category range c5..c5 has fewer than two categories");
  EXPECT_EQ(allocate_mcs_pair(config_in(tmp, 0, 1024, McsOrder::kRandom), "vm").error().message(),
            "MCS category range c0..c1024 goes beyond c1023");
}

}  // namespace
}  // namespace bulwark::jailer

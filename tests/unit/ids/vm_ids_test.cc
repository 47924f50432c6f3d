#include "jailer/ids/vm_ids.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "tests/unit/ids/concurrent_children.h"
#include "tests/unit/ids/temp_dir.h"

namespace bulwark::jailer {
namespace {

using testing_support::TempDir;

VmIdsConfig config_in(const TempDir& tmp, uint32_t first, uint32_t last) {
  VmIdsConfig config;
  config.run_dir = tmp.path() / "ids";
  config.range = {first, last};
  return config;
}

TEST(VmIds, DefaultsAreTheDocumentedRangeAndRunDirectory) {
  const VmIdsConfig config;
  EXPECT_EQ(config.run_dir, "/run/bulwark/ids");
  EXPECT_EQ(config.range.first, 200000u);
  EXPECT_EQ(config.range.last, 265535u);
}

TEST(VmIds, AllocatesTheLowestFreeIdAsUidAndGid) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  const auto config = config_in(tmp, 300000, 300009);
  auto a = allocate_vm_ids(config, "vm-a");
  ASSERT_TRUE(a.ok()) << a.error().message();
  EXPECT_EQ(a->uid(), 300000u);
  EXPECT_EQ(a->gid(), 300000u);
  EXPECT_TRUE(std::filesystem::exists(tmp.path() / "ids/300000.lock"));
  auto b = allocate_vm_ids(config, "vm-b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->uid(), 300001u);
}

TEST(VmIds, ExhaustionIsAPreciseError) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  const auto config = config_in(tmp, 300000, 300002);
  std::vector<VmIds> held;
  for (int i = 0; i < 3; ++i) {
    auto ids = allocate_vm_ids(config, "vm-" + std::to_string(i));
    ASSERT_TRUE(ids.ok()) << ids.error().message();
    held.push_back(std::move(*ids));
  }
  auto fourth = allocate_vm_ids(config, "vm-3");
  ASSERT_FALSE(fourth.ok());
  EXPECT_EQ(fourth.error().message(),
            "VM uid/gid: no free id in 300000..300002: all 3 are held by live VMs (reservations in " +
                (tmp.path() / "ids").string() + ")");
}

TEST(VmIds, DestructionReleasesTheIdForTheNextVm) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  const auto config = config_in(tmp, 300000, 300000);
  {
    auto ids = allocate_vm_ids(config, "vm-a");
    ASSERT_TRUE(ids.ok());
    EXPECT_FALSE(allocate_vm_ids(config, "vm-b").ok());
  }
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "ids/300000.lock"));
  auto again = allocate_vm_ids(config, "vm-b");
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(again->uid(), 300000u);
  EXPECT_FALSE(again->reclaimed_stale());
}

TEST(VmIds, ReclaimsAStaleReservationOfADeadLauncher) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  const auto config = config_in(tmp, 300000, 300000);
  std::filesystem::create_directory(tmp.path() / "ids");
  std::ofstream(tmp.path() / "ids/300000.lock") << "pid=99999\nvm=dead\n";
  auto ids = allocate_vm_ids(config, "vm-a");
  ASSERT_TRUE(ids.ok()) << ids.error().message();
  EXPECT_EQ(ids->uid(), 300000u);
  EXPECT_TRUE(ids->reclaimed_stale());
}

TEST(VmIds, ConcurrentProcessesGetDistinctIdsAndTheRestAPreciseError) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  const auto config = config_in(tmp, 300000, 300003);
  std::optional<VmIds> kept;  // each child's own copy keeps its reservation alive
  auto results = testing_support::run_in_concurrent_children(10, [&] {
    auto ids = allocate_vm_ids(config, "vm-" + std::to_string(::getpid()));
    if (!ids) return "error: " + ids.error().message();
    const std::string text = std::to_string(ids->uid()) + "/" + std::to_string(ids->gid());
    kept.emplace(std::move(*ids));
    return text;
  });
  ASSERT_EQ(results.size(), 10u);
  std::set<std::string> granted;
  int exhausted = 0;
  for (const auto& r : results) {
    if (r.rfind("error: ", 0) == 0) {
      EXPECT_NE(r.find("no free id in 300000..300003: all 4 are held by live VMs"), std::string::npos)
          << r;
      ++exhausted;
    } else {
      EXPECT_TRUE(granted.insert(r).second) << "id handed out twice: " << r;
    }
  }
  EXPECT_EQ(granted, (std::set<std::string>{"300000/300000", "300001/300001", "300002/300002",
                                            "300003/300003"}));
  EXPECT_EQ(exhausted, 6);
}

TEST(VmIds, ConcurrentThreadsGetDistinctIds) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  const auto config = config_in(tmp, 300000, 300007);
  std::mutex mutex;
  std::vector<VmIds> held;
  std::vector<std::string> errors;
  std::vector<std::thread> threads;
  for (int i = 0; i < 12; ++i) {
    threads.emplace_back([&, i] {
      auto ids = allocate_vm_ids(config, "vm-" + std::to_string(i));
      std::lock_guard lock(mutex);
      if (ids) held.push_back(std::move(*ids));
      else errors.push_back(ids.error().message());
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(held.size(), 8u);
  EXPECT_EQ(errors.size(), 4u);
  std::set<uid_t> uids;
  for (const auto& ids : held) uids.insert(ids.uid());
  EXPECT_EQ(uids.size(), 8u);
}

TEST(VmIds, RequestedIdsAreReservedAndRefusedWhileHeld) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  const auto config = config_in(tmp, 300000, 300001);
  auto first = reserve_requested_vm_ids(config, "vm-a", 400000, 400000);
  ASSERT_TRUE(first.ok()) << first.error().message();
  EXPECT_EQ(first->uid(), 400000u);
  EXPECT_EQ(first->reservations().size(), 1u);
  auto second = reserve_requested_vm_ids(config, "vm-b", 400000, 400000);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().message(), "VM uid/gid: requested id 400000 is held by pid " +
                                          std::to_string(::getpid()) + " (VM vm-a)");
}

TEST(VmIds, ARequestedGidInTheRangeIsSkippedByAllocation) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  const auto config = config_in(tmp, 300000, 300001);
  auto requested = reserve_requested_vm_ids(config, "vm-a", 400000, 300000);
  ASSERT_TRUE(requested.ok()) << requested.error().message();
  EXPECT_EQ(requested->gid(), 300000u);
  EXPECT_EQ(requested->reservations().size(), 2u);
  auto allocated = allocate_vm_ids(config, "vm-b");
  ASSERT_TRUE(allocated.ok());
  EXPECT_EQ(allocated->uid(), 300001u);
  // Another VM asking for the same gid as its uid is refused.
  auto clash = reserve_requested_vm_ids(config, "vm-c", 300000, 300000);
  ASSERT_FALSE(clash.ok());
  EXPECT_NE(clash.error().message().find("requested id 300000 is held by"), std::string::npos);
}

TEST(VmIds, RefusesRootAndInvalidIdsAndRanges) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  auto config = config_in(tmp, 300000, 300001);
  EXPECT_EQ(reserve_requested_vm_ids(config, "vm", 0, 5000).error().message(),
            "VM uid/gid: the config requests root (uid or gid 0)");
  EXPECT_EQ(reserve_requested_vm_ids(config, "vm", 5000, static_cast<gid_t>(-1)).error().message(),
            "VM uid/gid: the config requests the invalid id 4294967295");
  EXPECT_EQ(allocate_vm_ids(config_in(tmp, 0, 10), "vm").error().message(),
            "VM uid/gid range 0..10 includes root (0)");
  EXPECT_EQ(allocate_vm_ids(config_in(tmp, 10, 9), "vm").error().message(),
            "VM uid/gid range 10..9 is empty");
  EXPECT_EQ(allocate_vm_ids(config_in(tmp, 10, 4294967295u), "vm").error().message(),
            "VM uid/gid range 10..4294967295 includes the invalid id 4294967295");
  EXPECT_FALSE(allocate_vm_ids(config, "bad/id").ok());
}

}  // namespace
}  // namespace bulwark::jailer

#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>

namespace bulwark::jailer {
namespace {

// Two launchers with different run dirs share no lock files: an id a process already runs under
// (another VM's monitor) or a host account has is never handed out, whoever holds it.
TEST(VmIds, AnIdAProcessRunsUnderIsSkipped) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run a process under another uid";
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  constexpr uid_t kBusy = 310001;
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    if (::setresgid(kBusy, kBusy, kBusy) != 0 || ::setresuid(kBusy, kBusy, kBusy) != 0) ::_exit(2);
    (void)!::write(ready[1], "r", 1);
    ::pause();
    ::_exit(0);
  }
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  auto ids = allocate_vm_ids(config_in(tmp, kBusy, kBusy + 1), "vm-a");
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::close(ready[0]);
  ::close(ready[1]);
  ASSERT_TRUE(ids.ok()) << ids.error().message();
  EXPECT_EQ(ids->uid(), kBusy + 1);
  auto none = allocate_vm_ids(config_in(tmp, kBusy + 1, kBusy + 1), "vm-b");
  EXPECT_FALSE(none.ok());  // held by vm-a's reservation
}

TEST(VmIds, AnIdAHostAccountHasIsSkipped) {
  const passwd* nobody = ::getpwnam("nobody");
  if (nobody == nullptr) GTEST_SKIP() << "no account nobody";
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  const uint32_t taken = nobody->pw_uid;
  auto only_taken = allocate_vm_ids(config_in(tmp, taken, taken), "vm-a");
  ASSERT_FALSE(only_taken.ok());
  EXPECT_NE(only_taken.error().message().find("1 are used by host processes or accounts"), std::string::npos)
      << only_taken.error().message();
}

}  // namespace
}  // namespace bulwark::jailer

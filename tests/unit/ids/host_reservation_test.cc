#include "jailer/ids/host_reservation.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <fstream>
#include <sstream>

#include "tests/unit/ids/temp_dir.h"

namespace bulwark::jailer {
namespace {

using testing_support::TempDir;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

ReservationDirectory open_dir(const TempDir& tmp) {
  auto dir = ReservationDirectory::open_or_create(tmp.path() / "run");
  EXPECT_TRUE(dir.ok()) << dir.error().message();
  return std::move(*dir);
}

TEST(HostReservation, ClaimRecordsOwnerAndBlocksSecondClaim) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  auto dir = open_dir(tmp);
  auto first = HostReservation::try_claim(dir, "7.lock", "vm-a");
  ASSERT_TRUE(first.ok()) << first.error().message();
  ASSERT_TRUE(first->has_value());
  EXPECT_FALSE((*first)->reclaimed_stale());
  EXPECT_EQ(read_file(tmp.path() / "run/7.lock"),
            "pid=" + std::to_string(::getpid()) + "\nvm=vm-a\n");

  auto second = HostReservation::try_claim(dir, "7.lock", "vm-b");
  ASSERT_TRUE(second.ok()) << second.error().message();
  EXPECT_FALSE(second->has_value());
  EXPECT_EQ(describe_holder(dir, "7.lock"), "pid " + std::to_string(::getpid()) + " (VM vm-a)");
}

TEST(HostReservation, ReleaseUnlinksAndFreesTheName) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  auto dir = open_dir(tmp);
  {
    auto held = HostReservation::try_claim(dir, "9.lock", "vm-a");
    ASSERT_TRUE(held.ok() && held->has_value());
    EXPECT_TRUE(std::filesystem::exists(tmp.path() / "run/9.lock"));
  }
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "run/9.lock"));
  auto again = HostReservation::try_claim(dir, "9.lock", "vm-b");
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_FALSE((*again)->reclaimed_stale());
}

TEST(HostReservation, ReclaimsAFileNobodyHolds) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  auto dir = open_dir(tmp);
  std::ofstream(tmp.path() / "run/3.lock") << "pid=77\nvm=dead-vm\n";
  auto claimed = HostReservation::try_claim(dir, "3.lock", "vm-new");
  ASSERT_TRUE(claimed.ok()) << claimed.error().message();
  ASSERT_TRUE(claimed->has_value());
  EXPECT_TRUE((*claimed)->reclaimed_stale());
  ASSERT_TRUE((*claimed)->stale_record().has_value());
  EXPECT_EQ(*(*claimed)->stale_record(), (ReservationRecord{77, "dead-vm"}));
  EXPECT_EQ(read_file(tmp.path() / "run/3.lock"),
            "pid=" + std::to_string(::getpid()) + "\nvm=vm-new\n");
}

TEST(HostReservation, ReclaimsAFileWithGarbageInIt) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  auto dir = open_dir(tmp);
  std::ofstream(tmp.path() / "run/4.lock") << std::string(500, '\xff');
  auto claimed = HostReservation::try_claim(dir, "4.lock", "vm-new");
  ASSERT_TRUE(claimed.ok() && claimed->has_value());
  EXPECT_TRUE((*claimed)->reclaimed_stale());
  EXPECT_FALSE((*claimed)->stale_record().has_value());
  EXPECT_EQ(read_file(tmp.path() / "run/4.lock"),
            "pid=" + std::to_string(::getpid()) + "\nvm=vm-new\n");
}

TEST(HostReservation, ALauncherThatDiesLeavesAReclaimableFile) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  auto dir = open_dir(tmp);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto held = HostReservation::try_claim(dir, "5.lock", "crashing");
    // Dies without running destructors, like a killed launcher.
    ::_exit(held.ok() && held->has_value() ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_TRUE(std::filesystem::exists(tmp.path() / "run/5.lock"));
  auto claimed = HostReservation::try_claim(dir, "5.lock", "vm-new");
  ASSERT_TRUE(claimed.ok() && claimed->has_value());
  EXPECT_TRUE((*claimed)->reclaimed_stale());
  ASSERT_TRUE((*claimed)->stale_record().has_value());
  EXPECT_EQ((*claimed)->stale_record()->pid, child);
}

TEST(HostReservation, AForkedChildReleasingItsCopyKeepsTheParentsReservation) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  auto dir = open_dir(tmp);
  auto held = HostReservation::try_claim(dir, "6.lock", "vm-a");
  ASSERT_TRUE(held.ok() && held->has_value());
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    (*held)->release();
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(std::filesystem::exists(tmp.path() / "run/6.lock"));
  auto other = HostReservation::try_claim(dir, "6.lock", "vm-b");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());
}

// Holders release (unlink, then unlock) while others claim the same name: at no moment may two
// processes believe they hold it. Each holder proves exclusivity by creating a marker file with
// O_EXCL, which fails if another holder's marker is still there.
TEST(HostReservation, ClaimAndReleaseRacesNeverYieldTwoHolders) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  auto dir = open_dir(tmp);
  const auto marker = tmp.path() / "holder";
  std::vector<pid_t> children;
  for (int i = 0; i < 4; ++i) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      int held_count = 0;
      for (int round = 0; round < 3000 && held_count < 150; ++round) {
        auto held = HostReservation::try_claim(dir, "race.lock", "racer");
        if (!held.ok()) ::_exit(2);
        if (!held->has_value()) continue;
        const int fd = ::open(marker.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
        if (fd < 0) ::_exit(1);  // someone else holds it too
        ::close(fd);
        ::unlink(marker.c_str());
        ++held_count;
      }
      ::_exit(held_count > 0 ? 0 : 3);
    }
    children.push_back(child);
  }
  for (pid_t child : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "1: two holders at once, 2: claim error, 3: starved";
  }
}

TEST(HostReservation, RefusesBadNamesAndVmIds) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  auto dir = open_dir(tmp);
  auto slash = HostReservation::try_claim(dir, "../escape.lock", "vm-a");
  ASSERT_FALSE(slash.ok());
  EXPECT_EQ(slash.error().message(), "invalid reservation file name '../escape.lock'");
  auto bad_vm = HostReservation::try_claim(dir, "1.lock", "vm\nevil");
  ASSERT_FALSE(bad_vm.ok());
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "run/1.lock"));
}

TEST(HostReservation, DoesNotFollowASymlinkPlantedAsTheLockFile) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  auto dir = open_dir(tmp);
  std::ofstream(tmp.path() / "victim") << "precious";
  std::filesystem::create_symlink(tmp.path() / "victim", tmp.path() / "run/2.lock");
  auto claimed = HostReservation::try_claim(dir, "2.lock", "vm-a");
  EXPECT_FALSE(claimed.ok());
  EXPECT_EQ(read_file(tmp.path() / "victim"), "precious");
}

TEST(ReservationDirectory, RefusesADirectoryOthersCanWrite) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  std::filesystem::create_directory(tmp.path() / "open");
  ::chmod((tmp.path() / "open").c_str(), 0777);
  auto dir = ReservationDirectory::open_or_create(tmp.path() / "open");
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.error().message().find("is writable by group or others"), std::string::npos)
      << dir.error().message();
}

TEST(ReservationDirectory, CreatesMissingDirectoriesPrivate) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  auto dir = ReservationDirectory::open_or_create(tmp.path() / "a/b/ids");
  ASSERT_TRUE(dir.ok()) << dir.error().message();
  struct stat st {};
  ASSERT_EQ(::stat((tmp.path() / "a/b/ids").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
}

}  // namespace
}  // namespace bulwark::jailer

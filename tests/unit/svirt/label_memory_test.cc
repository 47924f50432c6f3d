// Label memory (jailer/svirt/label_memory.h) as an attacker would probe it, on real xattrs
// (security.selinux and trusted.bulwark.label; trusted.* needs root): another VM's live image,
// shared read-only images, a forged record, a dead launcher's leftover, a renamed path, and two
// launchers racing on one record.
#include "jailer/svirt/label_memory.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "jailer/ids/host_reservation.h"
#include "tests/unit/svirt/labelable_dir.h"

namespace bulwark::jailer {
namespace {

namespace fs = std::filesystem;
using testing_support::make_labelable_temp_dir;
using testing_support::TempDir;

const std::string kOriginal = "system_u:object_r:var_t:s0";
const std::string kImageA = "system_u:object_r:bulwark_image_t:s0:c1,c2";
const std::string kImageB = "system_u:object_r:bulwark_image_t:s0:c3,c4";
const std::string kContentA = "system_u:object_r:bulwark_content_t:s0:c1,c2";
const std::string kContentB = "system_u:object_r:bulwark_content_t:s0:c3,c4";
const std::string kShared = "system_u:object_r:bulwark_content_t:s0";

std::optional<std::string> get_xattr(const fs::path& path, const char* name) {
  char buf[70000];
  const ssize_t n = ::lgetxattr(path.c_str(), name, buf, sizeof buf);
  if (n < 0) return std::nullopt;
  return std::string(buf, static_cast<size_t>(n));
}

class LabelMemoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = make_labelable_temp_dir();
    if (!tmp_) GTEST_SKIP() << "no filesystem here accepts security.selinux xattrs";
    run_ = tmp_->path() / "run";
    image_ = tmp_->path() / "disk.img";
    std::ofstream(image_) << "image";
    if (::lsetxattr(image_.c_str(), kLabelRecordXattr, "x", 1, 0) != 0)
      GTEST_SKIP() << "cannot set trusted.* xattrs here (needs root)";
    ::lremovexattr(image_.c_str(), kLabelRecordXattr);
    set_label(image_, kOriginal);
  }
  static void set_label(const fs::path& path, const std::string& context) {
    const std::string value = context + '\0';
    ASSERT_EQ(::lsetxattr(path.c_str(), "security.selinux", value.data(), value.size(), 0), 0);
  }
  static std::optional<std::string> label(const fs::path& path) {
    auto value = get_xattr(path, "security.selinux");
    if (value && !value->empty() && value->back() == '\0') value->pop_back();
    return value;
  }
  static std::optional<std::string> record(const fs::path& path) {
    return get_xattr(path, kLabelRecordXattr);
  }
  static LabelRecord parsed_record(const fs::path& path) {
    auto text = record(path);
    EXPECT_TRUE(text.has_value()) << "no label record on " << path;
    if (!text) return {};
    auto parsed = parse_label_record(*text);
    EXPECT_TRUE(parsed.ok()) << parsed.error().message();
    return parsed.ok() ? *parsed : LabelRecord{};
  }
  // The VM id lock a running launcher holds (claim_vm_id, stale_vm.h).
  HostReservation running(const std::string& vm_id) {
    auto dir = ReservationDirectory::open_or_create(run_ / "vms");
    EXPECT_TRUE(dir.ok());
    auto claimed = HostReservation::try_claim(*dir, vm_id + ".lock", vm_id);
    EXPECT_TRUE(claimed.ok() && claimed->has_value());
    return std::move(**claimed);
  }
  UniqueFd open_image(int flags = O_RDONLY) const {
    return UniqueFd(::open(image_.c_str(), flags | O_CLOEXEC));
  }

  std::unique_ptr<TempDir> tmp_;
  fs::path run_, image_;
};

// Issue 10 item 3: VM B naming VM A's live image used to get it relabelled to B's pair.
TEST_F(LabelMemoryTest, AnotherVmsLiveImageIsRefusedNamingItAndKeepsItsLabel) {
  auto a_running = running("vm-a");
  auto b_running = running("vm-b");
  LabelMemory a(run_, "vm-a");
  ASSERT_EQ(*a.acquire(open_image(O_RDWR).get(), "a's disk", kImageA, LabelAccess::kReadWrite),
            LabelOutcome::kLabelled);
  ASSERT_EQ(label(image_), kImageA);
  const auto a_record = record(image_);

  LabelMemory b(run_, "vm-b");
  for (auto [context, access] : {std::pair{kImageB, LabelAccess::kReadWrite},
                                 std::pair{kContentB, LabelAccess::kReadOnly},
                                 std::pair{kShared, LabelAccess::kReadOnlyShared}}) {
    auto taken = b.acquire(open_image().get(), "\"/srv/a/disk.img\"", context, access);
    ASSERT_FALSE(taken.ok()) << "VM B got VM A's live image as " << context;
    EXPECT_NE(taken.error().message().find("\"/srv/a/disk.img\": refused: the file is in use by "
                                           "VM \"vm-a\" (read-write)"),
              std::string::npos)
        << taken.error().message();
    EXPECT_EQ(label(image_), kImageA) << "A's label changed";
    EXPECT_EQ(record(image_), a_record) << "A's label record changed";
  }
  EXPECT_EQ(b.file_count(), 0u);
  EXPECT_EQ(a.file_count(), 1u);
  // The holders the image lock names come from the same record.
  EXPECT_EQ(label_record_holders(open_image().get(), "vm-b", run_),
            std::vector<std::string>{"VM \"vm-a\" (read-write)"});

  ASSERT_TRUE(a.release_all().ok());
  EXPECT_EQ(label(image_), kOriginal);
  EXPECT_FALSE(record(image_).has_value());
  // Once A is gone, B may have it.
  EXPECT_EQ(*b.acquire(open_image().get(), "disk", kImageB, LabelAccess::kReadWrite),
            LabelOutcome::kLabelled);
  EXPECT_EQ(parsed_record(image_).original, kOriginal);
}

// A read-only disk outside the shared dirs is the VM's own: a second VM is refused even read-only.
TEST_F(LabelMemoryTest, ReadOnlyButNotSharedIsNotShared) {
  auto a_running = running("vm-a");
  auto b_running = running("vm-b");
  LabelMemory a(run_, "vm-a"), b(run_, "vm-b");
  ASSERT_TRUE(a.acquire(open_image().get(), "disk", kContentA, LabelAccess::kReadOnly).ok());
  EXPECT_EQ(label(image_), kContentA);
  auto taken = b.acquire(open_image().get(), "disk", kContentB, LabelAccess::kReadOnly);
  ASSERT_FALSE(taken.ok());
  EXPECT_NE(taken.error().message().find("VM \"vm-a\" (read-only)"), std::string::npos)
      << taken.error().message();
  EXPECT_EQ(label(image_), kContentA);
  // Asking for it shared does not override A's private use either.
  EXPECT_FALSE(b.acquire(open_image().get(), "disk", kShared, LabelAccess::kReadOnlyShared).ok());
  EXPECT_EQ(label(image_), kContentA);
}

// Issue 10 item 3: a shared disk was restored while another VM still used it.
TEST_F(LabelMemoryTest, SharedUsersCountAndTheLastOneRestores) {
  auto a_running = running("vm-a");
  auto b_running = running("vm-b");
  LabelMemory a(run_, "vm-a"), b(run_, "vm-b");
  ASSERT_EQ(*a.acquire(open_image().get(), "base", kShared, LabelAccess::kReadOnlyShared),
            LabelOutcome::kLabelled);
  ASSERT_EQ(*b.acquire(open_image().get(), "base", kShared, LabelAccess::kReadOnlyShared),
            LabelOutcome::kLabelled);
  LabelRecord both = parsed_record(image_);
  EXPECT_EQ(both.original, kOriginal);
  EXPECT_EQ(both.label, kShared);
  EXPECT_EQ(both.users, (std::vector<LabelUser>{{"vm-a", LabelAccess::kReadOnlyShared},
                                                {"vm-b", LabelAccess::kReadOnlyShared}}));
  // A writer cannot join shared readers.
  auto c_running = running("vm-c");
  LabelMemory c(run_, "vm-c");
  EXPECT_FALSE(c.acquire(open_image(O_RDWR).get(), "base", kImageB, LabelAccess::kReadWrite).ok());

  ASSERT_TRUE(a.release_all().ok());
  EXPECT_EQ(label(image_), kShared) << "restored while VM B still uses it";
  EXPECT_EQ(parsed_record(image_).users,
            (std::vector<LabelUser>{{"vm-b", LabelAccess::kReadOnlyShared}}));
  ASSERT_TRUE(b.release_all().ok());
  EXPECT_EQ(label(image_), kOriginal);
  EXPECT_FALSE(record(image_).has_value());
}

// Sharing means one label: a second VM that would give a shared file another label (an operator
// with different sVirt types per VM, say) is refused and the first VM's label stays.
TEST_F(LabelMemoryTest, SharedUsersMustAgreeOnTheLabel) {
  auto a_running = running("vm-a");
  auto b_running = running("vm-b");
  LabelMemory a(run_, "vm-a"), b(run_, "vm-b");
  ASSERT_TRUE(a.acquire(open_image().get(), "base", kShared, LabelAccess::kReadOnlyShared).ok());
  const std::string other_shared = "system_u:object_r:bulwark_image_t:s0";
  auto taken = b.acquire(open_image().get(), "base", other_shared, LabelAccess::kReadOnlyShared);
  ASSERT_FALSE(taken.ok());
  EXPECT_NE(taken.error().message().find("vm-a"), std::string::npos) << taken.error().message();
  EXPECT_EQ(label(image_), kShared);
  EXPECT_EQ(parsed_record(image_).users,
            (std::vector<LabelUser>{{"vm-a", LabelAccess::kReadOnlyShared}}));
}

TEST_F(LabelMemoryTest, AFileWithoutALabelGetsNoneBack) {
  ASSERT_EQ(::lremovexattr(image_.c_str(), "security.selinux"), 0);
  {
    LabelMemory a(run_, "vm-a");
    ASSERT_TRUE(a.acquire(open_image().get(), "disk", kImageA, LabelAccess::kReadWrite).ok());
    EXPECT_EQ(parsed_record(image_).original, std::nullopt);
  }
  EXPECT_FALSE(label(image_).has_value());
  EXPECT_FALSE(record(image_).has_value());
}

// The record is on the tenant's file: one that is not Bulwark's is refused and left as it is.
TEST_F(LabelMemoryTest, AGarbageRecordIsRefusedCleanlyAndLeftAlone) {
  const std::string garbage = "bulwark-label 1\noriginal=\nlabel=x:y:z:s0\nuser=vm-a rw\nuser=vm-a rw\n";
  ASSERT_EQ(::lsetxattr(image_.c_str(), kLabelRecordXattr, garbage.data(), garbage.size(), 0), 0);
  LabelMemory b(run_, "vm-b");
  auto taken = b.acquire(open_image().get(), "\"disk.img\"", kImageB, LabelAccess::kReadWrite);
  ASSERT_FALSE(taken.ok());
  EXPECT_NE(taken.error().message().find(
                "\"disk.img\": refused: its label record (trusted.bulwark.label) is not one "
                "Bulwark writes (label record: VM vm-a is listed twice)"),
            std::string::npos)
      << taken.error().message();
  EXPECT_EQ(label(image_), kOriginal);
  EXPECT_EQ(record(image_), garbage);
  EXPECT_EQ(b.file_count(), 0u);
  auto released = release_label_user(run_, open_image().get(), "vm-a", "disk.img");
  EXPECT_FALSE(released.ok());
  EXPECT_EQ(label(image_), kOriginal);
  EXPECT_EQ(record(image_), garbage);
  EXPECT_TRUE(label_record_holders(open_image().get(), "", run_).empty());
}

// A launcher killed without releasing leaves its VM in the record; it no longer runs, so it
// blocks nobody, and the original it remembered is the one that comes back.
TEST_F(LabelMemoryTest, ADeadLaunchersEntryBlocksNobodyAndKeepsTheOriginal) {
  const std::string left = *format_label_record(
      {kOriginal, kImageA, {{"vm-dead", LabelAccess::kReadWrite}}});
  ASSERT_EQ(::lsetxattr(image_.c_str(), kLabelRecordXattr, left.data(), left.size(), 0), 0);
  set_label(image_, kImageA);
  auto b_running = running("vm-b");
  {
    LabelMemory b(run_, "vm-b");
    ASSERT_TRUE(b.acquire(open_image().get(), "disk", kImageB, LabelAccess::kReadWrite).ok());
    EXPECT_EQ(label(image_), kImageB);
    const LabelRecord now = parsed_record(image_);
    EXPECT_EQ(now.original, kOriginal);
    EXPECT_EQ(now.users, (std::vector<LabelUser>{{"vm-b", LabelAccess::kReadWrite}}));
  }
  EXPECT_EQ(label(image_), kOriginal);
  EXPECT_FALSE(record(image_).has_value());
}

// Restore goes to the inode that was labelled, by fd: a file renamed into its path meanwhile is
// not touched.
TEST_F(LabelMemoryTest, RestoreReachesTheLabelledInodeNotWhatIsAtItsPathNow) {
  const fs::path decoy = tmp_->path() / "decoy";
  const fs::path moved = tmp_->path() / "moved.img";
  std::ofstream(decoy) << "decoy";
  set_label(decoy, "system_u:object_r:shadow_t:s0");
  {
    LabelMemory a(run_, "vm-a");
    ASSERT_TRUE(a.acquire(open_image().get(), "disk", kImageA, LabelAccess::kReadWrite).ok());
    fs::rename(image_, moved);
    fs::rename(decoy, image_);
  }
  EXPECT_EQ(label(moved), kOriginal);
  EXPECT_FALSE(record(moved).has_value());
  EXPECT_EQ(label(image_), "system_u:object_r:shadow_t:s0");
  EXPECT_FALSE(record(image_).has_value());
}

TEST_F(LabelMemoryTest, TheSameFileTwiceForOneVmIsOneUser) {
  LabelMemory a(run_, "vm-a");
  ASSERT_TRUE(a.acquire(open_image().get(), "kernel", kShared, LabelAccess::kReadOnlyShared).ok());
  ASSERT_TRUE(a.acquire(open_image().get(), "initrd", kShared, LabelAccess::kReadOnlyShared).ok());
  EXPECT_EQ(parsed_record(image_).users.size(), 1u);
  EXPECT_EQ(a.file_count(), 1u);
  EXPECT_FALSE(a.acquire(open_image().get(), "disk", kImageA, LabelAccess::kReadWrite).ok());
  EXPECT_EQ(label(image_), kShared);
}

TEST_F(LabelMemoryTest, TheRecordHookSeesTheFileBeforeItChangesAndCanStopIt) {
  LabelMemory a(run_, "vm-a");
  std::vector<LabelledFile> seen;
  a.set_record_hook([&](const LabelledFile& file) -> Status {
    seen.push_back(file);
    EXPECT_EQ(label(image_), kOriginal) << "relabelled before it was on record";
    EXPECT_FALSE(record(image_).has_value());
    return Error("launch record full");
  });
  auto taken = a.acquire(open_image().get(), "disk", kImageA, LabelAccess::kReadWrite);
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(label(image_), kOriginal);
  EXPECT_FALSE(record(image_).has_value());
  ASSERT_EQ(seen.size(), 1u);
  struct stat st{};
  ASSERT_EQ(::stat(image_.c_str(), &st), 0);
  EXPECT_EQ(seen[0].dev, st.st_dev);
  EXPECT_EQ(seen[0].ino, st.st_ino);
  EXPECT_EQ(seen[0].path, fs::canonical(image_).string());
}

// Every change is a read-modify-write of one xattr: without the host-wide lock held across it,
// launchers starting together would each write back the record they read and lose the others.
// Each of these processes is slowed between its read and its write (the record hook runs there).
TEST_F(LabelMemoryTest, TheLockIsHeldAcrossReadModifyWrite) {
  constexpr int kLaunchers = 4;
  std::vector<pid_t> children;
  for (int i = 0; i < kLaunchers; ++i) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      LabelMemory* memory = new LabelMemory(run_, "vm-" + std::to_string(i), system_fd_xattrs(),
                                            [](std::string_view) { return true; });
      memory->set_record_hook([](const LabelledFile&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(150));
        return ok_status();
      });
      UniqueFd fd(::open(image_.c_str(), O_RDONLY | O_CLOEXEC));
      auto taken = memory->acquire(fd.get(), "base", kShared, LabelAccess::kReadOnlyShared);
      ::_exit(taken.ok() ? 0 : 1);  // as if killed: nothing released
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  const LabelRecord after = parsed_record(image_);
  EXPECT_EQ(after.users.size(), static_cast<size_t>(kLaunchers)) << "updates were lost";
  EXPECT_EQ(after.original, kOriginal);
  EXPECT_TRUE(fs::exists(run_ / "labels.lock"));
}

}  // namespace
}  // namespace bulwark::jailer

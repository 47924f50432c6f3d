// open_as_vm_user (jailer/vm_user_files.h) against the files a hostile tenant names (issue 9,
// case 4 and the FIFO failure): each is refused with the path in the message, and a readable
// regular file is accepted. Needs root (the helper changes uid); skipped otherwise.
#include "jailer/vm_user_files.h"

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "monitor/config/message_text.h"
#include "tests/unit/ids/temp_dir.h"

namespace bulwark::jail {
namespace {

namespace fs = std::filesystem;
using testing_support::TempDir;

// No account has these: the helper's rights are exactly "other" plus what the test grants.
constexpr uid_t kVmUid = 3999901;
constexpr gid_t kVmGid = 3999901;

class VmFileOpenerTest : public testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (the opening helper changes uid)";
    ASSERT_TRUE(tmp_.ok());
    // The VM user may search the test directory (mkdtemp made it 0700).
    ASSERT_EQ(::chmod(tmp_.path().c_str(), 0755), 0);
  }

  std::string file(const std::string& name, const std::string& contents, mode_t mode,
                   uid_t uid = 0, gid_t gid = 0) {
    const std::string path = tmp_.path() / name;
    std::ofstream(path) << contents;
    EXPECT_EQ(::chown(path.c_str(), uid, gid), 0);
    EXPECT_EQ(::chmod(path.c_str(), mode), 0);
    return path;
  }
  std::string dir(const std::string& name, mode_t mode) {
    const std::string path = tmp_.path() / name;
    fs::create_directory(path);
    EXPECT_EQ(::chmod(path.c_str(), mode), 0);
    return path;
  }
  std::string symlink(const std::string& name, const std::string& target) {
    const std::string path = tmp_.path() / name;
    fs::create_symlink(target, path);
    return path;
  }

  static Result<VmUserFile> open(const std::string& path, VmUserFileOptions options = {}) {
    return open_as_vm_user(path, kVmUid, kVmGid, options);
  }

  // Refused, the message names the path (quoted) and says `why`.
  static void expect_refused(const std::string& path, const std::string& why,
                             VmUserFileOptions options = {}) {
    auto opened = open(path, options);
    ASSERT_FALSE(opened.ok()) << path << " was accepted";
    const std::string& message = opened.error().message();
    EXPECT_NE(message.find(config::quoted_text(path, 4096)), std::string::npos) << message;
    EXPECT_NE(message.find(why), std::string::npos) << message;
  }

  TempDir tmp_;
};

TEST_F(VmFileOpenerTest, AReadableRegularFileIsAcceptedWithItsSize) {
  const std::string path = file("kernel", std::string(12345, 'k'), 0644);
  auto opened = open(path);
  ASSERT_TRUE(opened.ok()) << opened.error().message();
  EXPECT_EQ(opened->size, 12345u);
  EXPECT_EQ(opened->path, path);
  EXPECT_FALSE(opened->block_device);
  const int flags = ::fcntl(opened->fd.get(), F_GETFL);
  EXPECT_EQ(flags & O_ACCMODE, O_RDONLY);
  EXPECT_EQ(flags & O_NONBLOCK, 0) << "O_NONBLOCK left on a regular file";
  EXPECT_NE(::fcntl(opened->fd.get(), F_GETFD) & FD_CLOEXEC, 0);
  struct stat st{};
  ASSERT_EQ(::fstat(opened->fd.get(), &st), 0);
  EXPECT_EQ(st.st_ino, opened->ino);
}

TEST_F(VmFileOpenerTest, ReadWriteNeedsTheVmUsersWriteAccess) {
  const std::string own = file("disk.img", std::string(4096, 'd'), 0600, kVmUid, kVmGid);
  VmUserFileOptions rw;
  rw.access = VmFileAccess::kReadWrite;
  auto opened = open(own, rw);
  ASSERT_TRUE(opened.ok()) << opened.error().message();
  EXPECT_EQ(::fcntl(opened->fd.get(), F_GETFL) & O_ACCMODE, O_RDWR);
  // World-readable but not writable: read-only yes, read-write no.
  const std::string shared = file("shared.img", "s", 0644);
  EXPECT_TRUE(open(shared).ok());
  expect_refused(shared, "Permission denied", rw);
}

// Case 4: root's supplementary groups must not count. Under sudo or a root login shell the
// launcher has group 0; a file only group 0 may read is still refused.
TEST_F(VmFileOpenerTest, AGroupZeroOnlyFileIsRefusedEvenWithSupplementaryGroupZero) {
  const std::string path = file("sudoers-like", "root ALL=(ALL) ALL\n", 0640, 0, 0);
  std::vector<gid_t> saved(static_cast<size_t>(::getgroups(0, nullptr)));
  ASSERT_GE(::getgroups(static_cast<int>(saved.size()), saved.data()), 0);
  const gid_t zero = 0;
  ASSERT_EQ(::setgroups(1, &zero), 0);
  expect_refused(path, "Permission denied");
  ASSERT_EQ(::setgroups(saved.size(), saved.data()), 0);
}

TEST_F(VmFileOpenerTest, ASymlinkToAFileTheVmUserCannotReadIsRefused) {
  const std::string secret = file("secret", "host secret", 0600);
  const std::string link = symlink("innocent.img", secret);
  expect_refused(link, "Permission denied");
}

// /proc/self/cwd/...: the VM user cannot enter the launcher's working directory, but its own
// cwd magic link would take it there. Refused by name, and behind a symlink by
// RESOLVE_NO_MAGICLINKS.
TEST_F(VmFileOpenerTest, ProcSelfCwdIsRefusedByNameAndBehindASymlink) {
  const std::string hidden = dir("hidden", 0700);
  std::ofstream(hidden + "/file") << "behind a closed directory";
  ASSERT_EQ(::chmod((hidden + "/file").c_str(), 0644), 0);
  const fs::path before = fs::current_path();
  ASSERT_EQ(::chdir(hidden.c_str()), 0);
  expect_refused("/proc/self/cwd/file", "under /proc or /sys");
  expect_refused(symlink("via-cwd", "/proc/self/cwd/file"), "/proc magic link");
  // Spelled so that only a normalising check sees /proc.
  expect_refused(tmp_.path().string() + "/../../proc/self/cwd/file", "under /proc or /sys");
  ASSERT_EQ(::chdir(before.c_str()), 0);
  // Directly, the VM user cannot reach it.
  expect_refused(hidden + "/file", "Permission denied");
}

TEST_F(VmFileOpenerTest, ProcSelfFdIsRefusedByNameAndBehindASymlink) {
  const std::string hidden = dir("hidden", 0700);
  std::ofstream(hidden + "/file") << "behind a closed directory";
  ASSERT_EQ(::chmod((hidden + "/file").c_str(), 0644), 0);
  // The launcher holds an fd of a directory the VM user cannot enter; the helper inherits it.
  const int dir_fd = ::open(hidden.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dir_fd, 0);
  const std::string via_fd = "/proc/self/fd/" + std::to_string(dir_fd) + "/file";
  expect_refused(via_fd, "under /proc or /sys");
  expect_refused(symlink("via-fd", via_fd), "/proc magic link");
  ::close(dir_fd);
}

// /proc/<pid>/root/...: a process (a container, say) whose root directory the VM user cannot
// enter.
TEST_F(VmFileOpenerTest, ProcPidRootOfAnotherProcessIsRefused) {
  const std::string root = dir("container-root", 0700);
  std::ofstream(root + "/etc-shadow") << "root:$6$...";
  ASSERT_EQ(::chmod((root + "/etc-shadow").c_str(), 0644), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::chroot(root.c_str()) != 0) ::_exit(1);
    ::pause();
    ::_exit(0);
  }
  const std::string via_root = "/proc/" + std::to_string(pid) + "/root/etc-shadow";
  // Wait until the chroot happened (the link then shows the file).
  for (int i = 0; i < 200 && !fs::exists(via_root); ++i) ::usleep(10000);
  ASSERT_TRUE(fs::exists(via_root));
  expect_refused(via_root, "under /proc or /sys");
  const std::string link = symlink("via-root", via_root);
  auto opened = open(link);
  EXPECT_FALSE(opened.ok());
  if (!opened.ok()) {
    EXPECT_NE(opened.error().message().find(config::quoted_text(link, 4096)), std::string::npos)
        << opened.error().message();
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

TEST_F(VmFileOpenerTest, AProcFileBehindASymlinkIsRefusedByItsFilesystem) {
  // No magic link on the way, but procfs is no image.
  expect_refused(symlink("status", "/proc/self/status"), "pseudo-filesystem");
  expect_refused(symlink("sysfs", "/sys/kernel/mm/transparent_hugepage/enabled"),
                 "pseudo-filesystem");
}

// A FIFO would block an open for reading until a writer comes: refused at once instead.
TEST_F(VmFileOpenerTest, AFifoIsRefusedWithoutBlocking) {
  const std::string fifo = tmp_.path() / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0666), 0);
  ASSERT_EQ(::chmod(fifo.c_str(), 0666), 0);
  VmUserFileOptions options;
  options.timeout = std::chrono::seconds(3);
  const auto start = std::chrono::steady_clock::now();
  expect_refused(fifo, "a FIFO", options);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  VmUserFileOptions rw = options;
  rw.access = VmFileAccess::kReadWrite;
  expect_refused(fifo, "a FIFO", rw);
}

TEST_F(VmFileOpenerTest, ADirectoryIsRefused) {
  const std::string directory = dir("a-directory", 0755);
  expect_refused(directory, "a directory");
}

TEST_F(VmFileOpenerTest, CharacterDevicesAreRefusedEvenWhereBlockDevicesAreAllowed) {
  expect_refused("/dev/zero", "a character device");
  VmUserFileOptions allow;
  allow.allow_block_device = true;
  expect_refused("/dev/zero", "a character device", allow);
  expect_refused("/dev/null", "a character device", allow);
}

TEST_F(VmFileOpenerTest, BlockDevicesOnlyWhereTheOperatorAllowsThemAndTheVmUserMayOpenThem) {
  struct stat loop{};
  if (::stat("/dev/loop0", &loop) != 0 || !S_ISBLK(loop.st_mode)) GTEST_SKIP() << "no /dev/loop0";
  expect_refused("/dev/loop0", "a block device");
  VmUserFileOptions allow;
  allow.allow_block_device = true;
  // Allowed as a type, but the VM user has no permission on the host's node.
  if ((loop.st_mode & S_IROTH) == 0) expect_refused("/dev/loop0", "Permission denied", allow);
  // A node the VM user owns: accepted as a block device (an unattached loop device may refuse
  // to open; then there is nothing more to check here).
  const std::string node = tmp_.path() / "loop-node";
  ASSERT_EQ(::mknod(node.c_str(), S_IFBLK | 0600, loop.st_rdev), 0);
  ASSERT_EQ(::chown(node.c_str(), kVmUid, kVmGid), 0);
  expect_refused(node, "a block device");
  auto opened = open(node, allow);
  if (!opened.ok() && opened.error().message().find("No such device") != std::string::npos) {
    GTEST_SKIP() << "an unattached loop device does not open: " << opened.error().message();
  }
  ASSERT_TRUE(opened.ok()) << opened.error().message();
  EXPECT_TRUE(opened->block_device);
}

TEST_F(VmFileOpenerTest, MissingFilesAndBadPathsNameThePath) {
  expect_refused(tmp_.path().string() + "/no-such-kernel", "No such file or directory");
  // A newline in the path cannot split a log line: it is quoted as \n.
  const std::string odd = tmp_.path().string() + "/line\nbreak";
  auto opened = open(odd);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().message().find('\n'), std::string::npos) << opened.error().message();
  EXPECT_NE(opened.error().message().find("line\\nbreak"), std::string::npos);
  auto as_root = open_as_vm_user(file("k", "k", 0644), 0, 0);
  ASSERT_FALSE(as_root.ok());
  EXPECT_NE(as_root.error().message().find("may not be root"), std::string::npos);
}

TEST(VmFileNames, ProcAndSysAreRecognisedHoweverSpelled) {
  EXPECT_TRUE(names_proc_or_sys("/proc/self/root/etc/shadow"));
  EXPECT_TRUE(names_proc_or_sys("/proc"));
  EXPECT_TRUE(names_proc_or_sys("/sys/kernel/x"));
  EXPECT_TRUE(names_proc_or_sys("/srv/../proc/1/root/x"));
  EXPECT_TRUE(names_proc_or_sys("/./proc/self/cwd/x"));
  EXPECT_FALSE(names_proc_or_sys("/srv/proc/x"));
  EXPECT_FALSE(names_proc_or_sys("/processes/x"));
  EXPECT_FALSE(names_proc_or_sys("relative/proc"));
}

}  // namespace
}  // namespace bulwark::jail

// `bulwark run` with hostile tenant files (issue 9, case 4 and the failures list): a kernel,
// initrd or disk the VM's user could not open on its own, a /proc magic link, a FIFO, a
// directory or a character device is refused before the monitor starts, naming the path, and
// nothing is left behind; a second read-write user of an image is refused naming the VM that
// holds it.
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/integration/virtio_disk_image.h"
#include "tests/jailer/jail_fixture.h"

namespace bulwark::test {
namespace {

// Refused before the monitor starts: no KVM needed (the one test that runs a VM checks).
class JailFilesTest : public JailTest {
 protected:
  void SetUp() override { prepare(false); }
  // Runs the launcher with `kernel` and expects the refusal of `path` (quoted) with `why`.
  void expect_kernel_refused(const std::string& kernel, const std::string& path,
                             const std::string& why) {
    const auto start = std::chrono::steady_clock::now();
    ProcessResult run = run_process(BULWARK_JAILER, run_args(write_config(kernel)), {}, 30s);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 20s) << "the refusal blocked";
    EXPECT_TRUE(run.exited && run.exit_code == 9) << run.describe();
    EXPECT_NE(run.err.find("jail step vm-files: \"" + path + "\""),
              std::string::npos)
        << run.describe();
    EXPECT_NE(run.err.find(why), std::string::npos) << run.describe();
    EXPECT_EQ(run.err.find("monitor running"), std::string::npos) << run.describe();
    expect_nothing_left();
  }
  std::string hello_copy(const std::string& name, mode_t mode) {
    const std::string path = dir_ + "/" + name;
    fs::copy_file(guest("hello"), path, fs::copy_options::overwrite_existing);
    EXPECT_EQ(::chmod(path.c_str(), mode), 0);
    return path;
  }
};

// Under sudo or a root login shell the launcher has group 0: that must not let the VM read a
// file only group 0 may read.
TEST_F(JailFilesTest, AGroupZeroOnlyKernelIsRefusedWhileTheLauncherHasGroupZero) {
  const std::string kernel = hello_copy("group0.elf", 0640);
  ASSERT_EQ(::chown(kernel.c_str(), 0, 0), 0);
  const gid_t zero = 0;
  ASSERT_EQ(::setgroups(1, &zero), 0);  // inherited by the launcher this test starts
  expect_kernel_refused(kernel, kernel, "Permission denied");
}

TEST_F(JailFilesTest, ProcMagicLinksAreRefused) {
  const std::string hidden = dir_ + "/hidden";
  fs::create_directory(hidden);
  ASSERT_EQ(::chmod(hidden.c_str(), 0700), 0);
  fs::copy_file(guest("hello"), hidden + "/kernel.elf");
  ASSERT_EQ(::chmod((hidden + "/kernel.elf").c_str(), 0644), 0);
  // The launcher's own cwd, by name and behind a symlink.
  const std::string cwd_path = "/proc/self/cwd" + hidden + "/kernel.elf";
  expect_kernel_refused(cwd_path, cwd_path, "under /proc or /sys");
  const std::string link = dir_ + "/via-proc";
  fs::create_symlink("/proc/self/root" + hidden + "/kernel.elf", link);
  expect_kernel_refused(link, link, "/proc magic link");
  // Another process's root that the VM user cannot enter.
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::chroot(hidden.c_str()) != 0) ::_exit(1);
    ::pause();
    ::_exit(0);
  }
  const std::string root_path = "/proc/" + std::to_string(pid) + "/root/kernel.elf";
  for (int i = 0; i < 200 && !fs::exists(root_path); ++i) ::usleep(10000);
  expect_kernel_refused(root_path, root_path, "under /proc or /sys");
  const std::string fd_path = "/proc/self/fd/0/kernel.elf";
  expect_kernel_refused(fd_path, fd_path, "under /proc or /sys");
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

TEST_F(JailFilesTest, ASymlinkToAKernelTheVmUserCannotReadIsRefused) {
  const std::string secret = hello_copy("secret.elf", 0600);
  const std::string link = dir_ + "/innocent.elf";
  fs::create_symlink(secret, link);
  expect_kernel_refused(link, link, "Permission denied");
}

TEST_F(JailFilesTest, AFifoADirectoryAndDevZeroAreRefusedWithoutBlocking) {
  const std::string fifo = dir_ + "/kernel.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0666), 0);
  ASSERT_EQ(::chmod(fifo.c_str(), 0666), 0);
  expect_kernel_refused(fifo, fifo, "a FIFO");
  const std::string directory = dir_ + "/a-directory";
  fs::create_directory(directory);
  expect_kernel_refused(directory, directory, "a directory");
  expect_kernel_refused("/dev/zero", "/dev/zero", "a character device");
}

TEST_F(JailFilesTest, AFifoAsADiskIsRefusedWithoutBlocking) {
  const std::string fifo = dir_ + "/disk.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0666), 0);
  ASSERT_EQ(::chmod(fifo.c_str(), 0666), 0);
  const std::string config =
      write_config(guest("hello"), "", ", \"disks\": [{\"path\": \"" + fifo + "\"}]");
  ProcessResult run = run_process(BULWARK_JAILER, run_args(config), {}, 30s);
  EXPECT_TRUE(run.exited && run.exit_code == 9) << run.describe();
  EXPECT_NE(run.err.find("jail step disks: /disks/0: \"" + fifo + "\": refused: a FIFO"),
            std::string::npos)
      << run.describe();
  expect_nothing_left();
}

// Two VMs, one image, both read-write: the second is refused naming the first, which keeps
// running; QEMU's tools refuse it too while the first runs.
TEST_F(JailFilesTest, ASecondReadWriteUserOfAnImageIsRefused) {
  if (::access("/dev/kvm", R_OK | W_OK) != 0) GTEST_SKIP() << "no usable /dev/kvm";
  const std::string image = dir_ + "/shared.raw";
  ASSERT_EQ(make_image(image, kVirtioTestImageBytes, kVirtioTestImageFill), "");
  ASSERT_EQ(::chmod(image.c_str(), 0666), 0);
  const std::string disk = ", \"disks\": [{\"path\": \"" + image + "\"}]";
  write_host_config();
  auto a = start_spinning_vm(write_vm_config(dir_ + "/a.json", guest("spin"), disk));
  ASSERT_TRUE(a.ok()) << a.error().message();

  ProcessResult second = run_process(
      BULWARK_JAILER, run_args(write_vm_config(dir_ + "/b.json", guest("spin"), disk), {}, second_vm_id()),
      {}, 30s);
  EXPECT_TRUE(second.exited && second.exit_code == 9) << second.describe();
  EXPECT_NE(second.err.find("jail step disks: /disks/0: \"" + image + "\": refused: the image is in use by VM \"" +
                            id_ + "\" (read-write)"),
            std::string::npos)
      << second.describe();
  for (const std::string& leaf : cgroup_leaves(second_vm_id())) EXPECT_FALSE(fs::exists(leaf)) << leaf;
  if (::access("/usr/bin/qemu-io", X_OK) == 0) {
    ProcessResult qemu = run_process("/usr/bin/qemu-io", {"-f", "raw", "-c", "write 0 512", image}, {}, 30s);
    EXPECT_NE(qemu.err.find("Failed to get \"write\" lock"), std::string::npos) << qemu.describe();
  }
  EXPECT_EQ(jailed_child_of(a->pid()) > 0, true) << "the first VM is gone";
  ASSERT_TRUE(a->send_signal(SIGTERM).ok());
  ProcessResult end_a = a->wait(30s);
  EXPECT_TRUE(end_a.exited) << end_a.describe();
  expect_nothing_left();
  EXPECT_FALSE(fs::exists(run_dir_ + "/images") && !fs::is_empty(run_dir_ + "/images"))
      << "an image lock record was left behind";
}

}  // namespace
}  // namespace bulwark::test

// `bulwark run` with a vsock device, end to end on a host without KVM (issue 17): the real
// launcher makes the VM's vsock directory <vsock.dir>/<vm id>/ and its listening socket there,
// starts bulwark-dev-vsock jailed as the VM's user with that listener, and a stand-in monitor
// (standin_monitor.cc) holds the device's vhost-user socket while the VM "runs". A host client
// that sends garbage instead of `CONNECT <port>` is closed by the device, which proves it serves
// that socket. When the VM stops, the VM's directory is gone and the operator's stays. Root
// needed; KVM not.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstring>

#include "tests/jailer/jail_fixture.h"
#include "tests/jailer/unix_client.h"

namespace bulwark::test {
namespace {

// The pid of the bulwark-dev-vsock in the cgroup of this test's VM (<parent>/<id>.vsock), or -1.
pid_t vsock_device_of(const std::string& cgroup_parent, const std::string& vm_id) {
  const std::string leaf = "/" + cgroup_parent + "/" + vm_id + ".vsock";
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (trimmed(read_text(entry.path() / "comm")) != "bulwark-dev-vso") continue;  // comm: 15 bytes
    const std::string cgroups = read_text(entry.path() / "cgroup");
    if (cgroups.find(leaf + "\n") != std::string::npos) return static_cast<pid_t>(std::stoi(name));
  }
  return -1;
}

class JailVsockTest : public JailTest {
 protected:
  void SetUp() override {
    prepare(false);
    if (IsSkipped()) return;
    kernel_ = dir_ + "/kernel";  // never read: the stand-in monitor boots nothing
    std::ofstream(kernel_) << "not a kernel";
    ::chmod(kernel_.c_str(), 0644);
    // Short: <dir>/<vm id>/v.sock_<port> must fit a unix socket address; the test dir is long.
    vsock_dir_ = "/tmp/bw-vsock-" + std::to_string(::getpid());
    fs::remove_all(vsock_dir_);
  }
  void TearDown() override {
    if (!vsock_dir_.empty()) fs::remove_all(vsock_dir_);
    JailTest::TearDown();
  }
  std::string kernel_, vsock_dir_;
};

TEST_F(JailVsockTest, TheJailedDeviceServesTheVmsSocketAndItsDirectoryGoesWithTheVm) {
  write_host_config(", \"vsock\": {\"dir\": \"" + vsock_dir_ + "\", \"max_connections\": 8}");
  const std::string config = write_vm_config(
      dir_ + "/vm.json", kernel_, ", \"cmdline\": \"standin.wait\", \"vsock\": {\"guest_cid\": 3, \"uds_path\": \"v.sock\"}");
  auto [program, args] = launcher_command_for_standin(
      BULWARK_JAILER, run_args(config, {"--monitor", BULWARK_STANDIN_MONITOR}), dir_ + "/dev-overlay");
  auto launcher = ChildProcess::start(program, args);
  ASSERT_TRUE(launcher.ok()) << launcher.error().message();
  ASSERT_TRUE(launcher->wait_for_stdout("STANDIN-RUNNING", std::chrono::seconds(60)))
      << launcher->wait(std::chrono::seconds(5)).describe();

  // The device: jailed in its own cgroup, as the VM's user, on the listener the launcher made.
  const pid_t device = vsock_device_of(cgroup_parent_, id_);
  ASSERT_GT(device, 0) << "no bulwark-dev-vsock in " << cgroup_parent_ << "/" << id_ << ".vsock";
  const std::string uid = std::to_string(vm_uid_);
  EXPECT_EQ(status_field(device, "Uid"), uid + "\t" + uid + "\t" + uid + "\t" + uid);
  std::istringstream cmdline(read_text("/proc/" + std::to_string(device) + "/cmdline"));
  std::string joined;
  for (std::string arg; std::getline(cmdline, arg, '\0');) joined += arg + " ";
  EXPECT_NE(joined.find("--listen-fd 4 --uds-path /vsock/v.sock --guest-cid 3 --max-connections 8 --buf-alloc 262144"),
            std::string::npos)
      << joined;
  const std::string vm_dir = vsock_dir_ + "/" + id_;
  const std::string socket_path = vm_dir + "/v.sock";
  struct stat st{};
  ASSERT_EQ(::stat(vm_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_gid, vm_uid_);  // the VM's gid is its uid
  EXPECT_EQ(st.st_mode & 07777, 02750u);
  ASSERT_EQ(::stat(socket_path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));

  // A client still writing its line is kept (the device's CONNECT deadline is 2 s) ...
  UniqueFd patient = connect_unix_stream(socket_path);
  ASSERT_TRUE(patient.valid());
  EXPECT_FALSE(closed_by_peer(patient.get(), std::chrono::milliseconds(500)));
  // ... one that sends garbage is closed at once: only the device accepts on this socket.
  UniqueFd garbage = connect_unix_stream(socket_path);
  ASSERT_TRUE(garbage.valid());
  const char junk[] = "GET / HTTP/1.0\r\n";
  ASSERT_EQ(::send(garbage.get(), junk, sizeof junk - 1, MSG_NOSIGNAL), static_cast<ssize_t>(sizeof junk - 1));
  EXPECT_TRUE(closed_by_peer(garbage.get(), std::chrono::milliseconds(1500))) << "the device did not close it";

  ASSERT_TRUE(launcher->send_signal(SIGTERM).ok());
  ProcessResult run = launcher->wait(std::chrono::seconds(30));
  EXPECT_TRUE(run.exited) << run.describe();
  EXPECT_FALSE(fs::exists(vm_dir)) << "the VM's vsock directory is left";
  EXPECT_TRUE(fs::is_directory(vsock_dir_)) << "the operator's vsock directory was removed";
  EXPECT_FALSE(fs::exists(base_dir_ + "/" + id_ + ".vsock")) << "the device's jail is left";
  expect_nothing_left();
}

// A launcher killed mid-run leaves the VM's vsock directory; the next launch of the VM id (here
// without a vsock) removes it in its sweep, and leaves the operator's directory.
TEST_F(JailVsockTest, TheNextLaunchSweepsAKilledLaunchersVsockDirectory) {
  write_host_config(", \"vsock\": {\"dir\": \"" + vsock_dir_ + "\"}");
  const std::string with_vsock = write_vm_config(
      dir_ + "/vm.json", kernel_, ", \"cmdline\": \"standin.wait\", \"vsock\": {\"guest_cid\": 3, \"uds_path\": \"v\"}");
  auto [program, args] = launcher_command_for_standin(
      BULWARK_JAILER, run_args(with_vsock, {"--monitor", BULWARK_STANDIN_MONITOR}), dir_ + "/dev-overlay");
  auto first = ChildProcess::start(program, args);
  ASSERT_TRUE(first.ok()) << first.error().message();
  ASSERT_TRUE(first->wait_for_stdout("STANDIN-RUNNING", std::chrono::seconds(60)))
      << first->wait(std::chrono::seconds(5)).describe();
  const std::string vm_dir = vsock_dir_ + "/" + id_;
  ASSERT_TRUE(fs::exists(vm_dir + "/v"));
  ASSERT_TRUE(first->send_signal(SIGKILL).ok());
  first->wait(std::chrono::seconds(10));
  ASSERT_TRUE(fs::is_directory(vm_dir)) << "nothing for the sweep to do";

  const std::string without = write_vm_config(dir_ + "/plain.json", kernel_, ", \"cmdline\": \"standin.wait\"");
  auto [program2, args2] = launcher_command_for_standin(
      BULWARK_JAILER, run_args(without, {"--monitor", BULWARK_STANDIN_MONITOR}), dir_ + "/dev-overlay2");
  auto second = ChildProcess::start(program2, args2);
  ASSERT_TRUE(second.ok()) << second.error().message();
  ASSERT_TRUE(second->wait_for_stdout("STANDIN-RUNNING", std::chrono::seconds(60)))
      << second->wait(std::chrono::seconds(5)).describe();
  EXPECT_FALSE(fs::exists(vm_dir)) << "the dead launch's vsock directory was not swept";
  EXPECT_TRUE(fs::is_directory(vsock_dir_));
  ASSERT_TRUE(second->send_signal(SIGTERM).ok());
  ProcessResult result = second->wait(std::chrono::seconds(30));
  EXPECT_NE(result.err.find("removed " + vm_dir + ", left by a launcher that died"), std::string::npos)
      << result.describe();
  EXPECT_EQ(result.err.find("left alone"), std::string::npos) << result.describe();
  expect_nothing_left();
}

TEST_F(JailVsockTest, AVsockIsRefusedByNameWhereTheOperatorHasNone) {
  const std::string config = write_vm_config(
      dir_ + "/vm.json", kernel_, ", \"vsock\": {\"guest_cid\": 3, \"uds_path\": \"v.sock\"}");
  auto [program, args] = launcher_command_for_standin(
      BULWARK_JAILER, run_args(config, {"--monitor", BULWARK_STANDIN_MONITOR}), dir_ + "/dev-overlay");
  ProcessResult result = run_process(program, args, {}, std::chrono::seconds(30));
  EXPECT_FALSE(result.exited && result.exit_code == 0) << result.describe();
  EXPECT_NE(result.err.find("config: /vsock: a vsock device is not available on this host"), std::string::npos)
      << result.describe();
  EXPECT_FALSE(fs::exists(vsock_dir_));
  expect_nothing_left();
}

}  // namespace
}  // namespace bulwark::test

// A VM's vsock device as the launcher starts it (issue 17): bulwark-dev-vsock's command line and
// jail from the tenant's and the operator's settings, the VM's vsock directory and listening
// socket (root: the directory is chowned to the VM's gid), and the stale-VM sweep of that
// directory after a launcher that died.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "jailer/device_spec.h"
#include "jailer/jail_config.h"
#include "jailer/stale_vm.h"
#include "jailer/vm_vsock.h"

namespace bulwark::jail {
namespace {

namespace fs = std::filesystem;

LaunchConfig vsock_launch(const std::string& dir, const std::string& id = "vm-1") {
  auto parsed = parse_launch_config(R"({"kernel": "/k", "vsock": {"guest_cid": 42, "uds_path": "v.sock"}})");
  EXPECT_TRUE(parsed.ok());
  HostConfig host;
  host.vsock.dir = dir;
  host.vsock.max_connections = 16;
  host.vsock.buf_alloc_bytes = 65536;
  Status applied = apply_operator_settings(host, OperatorChoices{id, "", {}}, *parsed);
  EXPECT_TRUE(applied.ok()) << (applied.ok() ? "" : applied.error().message());
  return *parsed;
}

std::string value_after(const std::vector<std::string>& argv, const std::string& flag) {
  const auto at = std::find(argv.begin(), argv.end(), flag);
  return at == argv.end() || at + 1 == argv.end() ? "<absent>" : *(at + 1);
}

TEST(VsockSpecTest, TheDeviceGetsTheListenerTheNameInItsJailAndTheOperatorsCeilings) {
  const LaunchConfig config = vsock_launch("/run/bulwark/vsock");
  DeviceLaunch launch;
  launch.kind = DeviceKind::kVsock;
  launch.name = "vsock";
  launch.vsock = &*config.vsock;
  launch.vsock_dir = "/run/bulwark/vsock/vm-1";
  launch.listen_fd = 17;
  launch.null_fd = 12;
  launch.socket_fd = 13;
  MonitorLaunchOptions options;
  options.dev_vsock_path = "/usr/libexec/bulwark/bulwark-dev-vsock";
  const JailSpec spec = build_device_spec(config, options, launch);
  EXPECT_EQ(spec.vm_id, "vm-1.vsock");
  EXPECT_EQ(spec.exec_jail_path, "/bulwark-dev-vsock");
  EXPECT_EQ(spec.exec_host_path, "/usr/libexec/bulwark/bulwark-dev-vsock");
  EXPECT_EQ(value_after(spec.argv, "--socket-fd"), "3");
  EXPECT_EQ(value_after(spec.argv, "--listen-fd"), "4");
  EXPECT_EQ(value_after(spec.argv, "--uds-path"), "/vsock/v.sock");
  EXPECT_EQ(value_after(spec.argv, "--guest-cid"), "42");
  EXPECT_EQ(value_after(spec.argv, "--max-connections"), "16");
  EXPECT_EQ(value_after(spec.argv, "--buf-alloc"), "65536");
  EXPECT_EQ(value_after(spec.argv, "--control-fd"), "<absent>");
  bool listener = false;
  for (const PassedFd& fd : spec.fds) listener = listener || (fd.source == 17 && fd.target == 4);
  EXPECT_TRUE(listener);
  // The VM's own directory, read-only, as the operator's (not opened as the VM user).
  bool bound = false;
  for (const ReadOnlyInput& input : spec.inputs) {
    if (input.jail_path != "/vsock") continue;
    bound = input.host_path == "/run/bulwark/vsock/vm-1" && !input.check_vm_access && !input.allow_exec;
  }
  EXPECT_TRUE(bound);
  EXPECT_TRUE(spec.writable_dirs.empty());
  EXPECT_EQ(spec.rlimits.nofile, 64u + 16u);
  EXPECT_EQ(spec.limits.memory_bytes, ((config.vm.memory_mib + 64) << 20) + 16u * 65536u);
  EXPECT_STREQ(device_selinux_domain(DeviceKind::kVsock), "bulwark_dev_vsock_t");
  EXPECT_STREQ(device_type_name(DeviceKind::kVsock), "vhost-user-vsock");
}

class VsockDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (the directory is chowned to the VM's gid)";
    scratch_ = fs::temp_directory_path() / ("bulwark-vsock-dir-" + std::to_string(::getpid()));
    fs::remove_all(scratch_);
    fs::create_directories(scratch_);
    operator_dir_ = scratch_ + "/vsock";
  }
  void TearDown() override {
    if (!scratch_.empty()) fs::remove_all(scratch_);
  }
  std::string scratch_, operator_dir_;
};

TEST_F(VsockDirTest, ThePerVmDirectoryHoldsTheListenerAndGoesAwayAlone) {
  LaunchConfig config = vsock_launch(operator_dir_);
  config.jail.uid = 40123;
  config.jail.gid = 40123;
  const std::string vm_dir = operator_dir_ + "/vm-1";
  // Left by a dead launcher: replaced.
  fs::create_directories(vm_dir);
  std::ofstream(vm_dir + "/stale") << "x";
  {
    auto made = VmVsockDir::create(config, "");
    ASSERT_TRUE(made.ok()) << made.error().message();
    EXPECT_EQ(made->dir(), vm_dir);
    EXPECT_EQ(made->socket_path(), vm_dir + "/v.sock");
    EXPECT_FALSE(fs::exists(vm_dir + "/stale"));
    struct stat st{};
    ASSERT_EQ(::stat(vm_dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 0u);
    EXPECT_EQ(st.st_gid, 40123u);
    EXPECT_EQ(st.st_mode & 07777, 02750u);
    ASSERT_EQ(::stat(made->socket_path().c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    // It listens: a client's connect() is queued on the launcher's fd.
    int client = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strcpy(address.sun_path, made->socket_path().c_str());
    EXPECT_EQ(::connect(client, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
    ::close(client);
    EXPECT_GE(made->listen_fd(), 0);
  }
  EXPECT_FALSE(fs::exists(vm_dir));
  EXPECT_TRUE(fs::is_directory(operator_dir_)) << "the operator's directory must stay";
}

TEST_F(VsockDirTest, TheOperatorsDirectoryMustBeARealDirectory) {
  fs::create_directory_symlink("/tmp", operator_dir_);
  LaunchConfig config = vsock_launch(operator_dir_);
  config.jail.gid = 40123;
  auto made = VmVsockDir::create(config, "");
  ASSERT_FALSE(made.ok());
  EXPECT_NE(made.error().message().find("is not a directory"), std::string::npos) << made.error().message();
}

TEST_F(VsockDirTest, TheSweepRemovesADeadLaunchsVsockDirectoryOnly) {
  const std::string run_dir = scratch_ + "/run";
  const std::string vm_dir = operator_dir_ + "/vm-1";
  fs::create_directories(vm_dir);
  ASSERT_EQ(::chown(vm_dir.c_str(), 0, 40123), 0);
  std::ofstream(vm_dir + "/v.sock_5000") << "";
  VmPlaces places = vm_places(scratch_ + "/srv", scratch_ + "/cg", "bulwark", "vm-1");
  places.vsock_dir = vm_dir;
  {
    auto record = LaunchRecordFile::create(run_dir, "vm-1", 40123);  // as a launcher that died left it
    ASSERT_TRUE(record.ok()) << record.error().message();
    auto report = sweep_recorded_leftovers(run_dir, "vm-1", places);
    ASSERT_TRUE(report.ok()) << report.error().message();
    EXPECT_EQ(report->removed, std::vector<std::string>{vm_dir});
  }
  EXPECT_FALSE(fs::exists(vm_dir));
  EXPECT_TRUE(fs::is_directory(operator_dir_));
  // Another VM's group (not what the record says): left alone, and said so.
  fs::create_directories(vm_dir);
  ASSERT_EQ(::chown(vm_dir.c_str(), 0, 40999), 0);
  {
    auto record = LaunchRecordFile::create(run_dir, "vm-1", 40123);
    ASSERT_TRUE(record.ok());
    auto report = sweep_recorded_leftovers(run_dir, "vm-1", places);
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->removed.empty());
    ASSERT_EQ(report->left_alone.size(), 1u);
    EXPECT_NE(report->left_alone[0].find("its group is 40999, the record says 40123"), std::string::npos);
  }
  EXPECT_TRUE(fs::exists(vm_dir));
  // No record (no launcher of this id died): nothing is touched.
  auto report = sweep_recorded_leftovers(run_dir, "vm-1", places);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->removed.empty());
  EXPECT_TRUE(fs::exists(vm_dir));
}

}  // namespace
}  // namespace bulwark::jail

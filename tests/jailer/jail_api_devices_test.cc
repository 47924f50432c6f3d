// PUT /vsock and PUT /tpm through the REST API end to end on a host without KVM (issue 17): the
// real launcher with --api-sock and no vm.json, the jailed bulwark-api, curl as the operator's
// control plane; InstanceStart then starts bulwark-dev-vsock on <vsock.dir>/<vm id>/<uds_path>
// and swtpm with the launch measured into it, exactly as a vm.json's "vsock" and "tpm" do, and
// the stand-in monitor (standin_monitor.cc) "runs" the VM. The API client's input; root and curl
// needed (swtpm for the TPM case), KVM not.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstring>
#include <thread>

#include "tests/jailer/jail_fixture.h"
#include "tests/jailer/unix_client.h"
#include "tests/support/shell_command.h"

namespace bulwark::test {
namespace {

struct ApiDeviceAnswer {
  int status = 0;
  std::string body;
};

class JailApiDevicesTest : public JailTest {
 protected:
  void SetUp() override {
    prepare(false);
    if (IsSkipped()) return;
    if (::access("/usr/bin/curl", X_OK) != 0) GTEST_SKIP() << "needs curl";
    images_ = dir_ + "/images";
    fs::create_directories(images_);
    ::chmod(images_.c_str(), 0755);
    std::ofstream(images_ + "/kernel") << "not a kernel";  // never booted: the stand-in boots nothing
    ::chmod((images_ + "/kernel").c_str(), 0644);
    socket_ = dir_ + "/api.sock";
    // Short: <dir>/<vm id>/<uds_path>_<port> must fit a unix socket address; the test dir is long.
    vsock_dir_ = "/tmp/bw-api-vsock-" + std::to_string(::getpid());
    fs::remove_all(vsock_dir_);
    state_dir_ = dir_ + "/tpm-state";
  }
  void TearDown() override {
    if (!vsock_dir_.empty()) fs::remove_all(vsock_dir_);
    if (!id_.empty()) {
      for (const std::string& leaf : cgroup_leaves(id_ + ".tpm")) ::rmdir(leaf.c_str());
    }
    JailTest::TearDown();
  }
  // The host config: the API's image dir plus `extra` (the operator's "vsock" / "tpm").
  void write_api_host_config(const std::string& extra) const {
    write_host_config(", \"api\": {\"image_dirs\": [\"" + images_ + "\"]}" + extra);
  }
  Result<ChildProcess> start_api_launcher() {
    const std::vector<std::string> args{"run", "--host-config", host_config_path(), "--id", id_, "--monitor",
                                        BULWARK_STANDIN_MONITOR, "--api-sock", socket_};
    auto [program, full] = launcher_command_for_standin(BULWARK_JAILER, args, dir_ + "/dev-overlay");
    auto launcher = ChildProcess::start(program, full);
    if (!launcher.ok()) return launcher.error();
    for (int i = 0; i < 100; ++i) {
      struct stat st{};
      if (::stat(socket_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) return launcher;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return Error("the API socket did not appear: " + launcher->wait(std::chrono::seconds(5)).describe());
  }
  ApiDeviceAnswer http(const std::string& method, const std::string& path, const std::string& body = "") {
    std::string command = "curl -s --max-time 60 --unix-socket " + socket_ + " -X " + method + " -w '\\n%{http_code}' ";
    if (!body.empty()) command += "-H 'Content-Type: application/json' -d '" + body + "' ";
    command += "'http://localhost" + path + "'";
    ShellResult result = run_shell(command, 90);
    ApiDeviceAnswer answer;
    const size_t last = result.output.rfind('\n');
    if (last == std::string::npos) return answer;
    answer.body = result.output.substr(0, last);
    answer.status = std::atoi(result.output.c_str() + last + 1);
    return answer;
  }
  // PUT /boot-source and /machine-config, as every VM here starts.
  void put_boot_and_machine() {
    ApiDeviceAnswer boot = http("PUT", "/boot-source", R"({"kernel_image_path": "kernel", "boot_args": "standin.wait"})");
    EXPECT_EQ(boot.status, 204) << boot.body;
    ApiDeviceAnswer machine = http("PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 64})");
    EXPECT_EQ(machine.status, 204) << machine.body;
  }
  std::string images_, socket_, vsock_dir_, state_dir_;
};

TEST_F(JailApiDevicesTest, PutVsockThenInstanceStartRunsTheVsockDeviceOnTheVmsSocket) {
  write_api_host_config(", \"vsock\": {\"dir\": \"" + vsock_dir_ + "\"}");
  auto launcher = start_api_launcher();
  ASSERT_TRUE(launcher.ok()) << launcher.error().message();
  put_boot_and_machine();
  // A path is refused by name (only a name in the operator's directory); Firecracker's "./" is not.
  ApiDeviceAnswer path = http("PUT", "/vsock", R"({"guest_cid": 3, "uds_path": "/tmp/v.sock"})");
  EXPECT_EQ(path.status, 400) << path.body;
  EXPECT_NE(path.body.find("uds_path"), std::string::npos) << path.body;
  ApiDeviceAnswer vsock = http("PUT", "/vsock", R"({"vsock_id": "vsock0", "guest_cid": 3, "uds_path": "./v.sock"})");
  ASSERT_EQ(vsock.status, 204) << vsock.body;
  ApiDeviceAnswer pending = http("GET", "/vm/config");
  EXPECT_NE(pending.body.find(R"("vsock":{"vsock_id":"vsock0","guest_cid":3,"uds_path":"v.sock"})"), std::string::npos)
      << pending.body;

  ApiDeviceAnswer start = http("PUT", "/actions", R"({"action_type": "InstanceStart"})");
  ASSERT_EQ(start.status, 204) << start.body;
  ASSERT_TRUE(launcher->wait_for_stdout("STANDIN-RUNNING", std::chrono::seconds(30)))
      << launcher->wait(std::chrono::seconds(1)).describe();
  // The device's listening socket, where a vm.json's "vsock" puts it; only the device accepts on
  // it: a client that sends garbage instead of "CONNECT <port>" is closed at once.
  const std::string vm_dir = vsock_dir_ + "/" + id_;
  const std::string socket_path = vm_dir + "/v.sock";
  struct stat st{};
  ASSERT_EQ(::stat(socket_path.c_str(), &st), 0) << "no listening socket at " << socket_path;
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  UniqueFd garbage = connect_unix_stream(socket_path);
  ASSERT_TRUE(garbage.valid());
  const char junk[] = "GET / HTTP/1.0\r\n";
  ASSERT_EQ(::send(garbage.get(), junk, sizeof junk - 1, MSG_NOSIGNAL), static_cast<ssize_t>(sizeof junk - 1));
  EXPECT_TRUE(closed_by_peer(garbage.get(), std::chrono::milliseconds(1500))) << "the device did not close it";
  // Running: GET /vm/config shows it; a second PUT /vsock is a pre-boot request, refused.
  ApiDeviceAnswer running = http("GET", "/vm/config");
  EXPECT_NE(running.body.find(R"("vsock":{"vsock_id":"vsock0","guest_cid":3,"uds_path":"v.sock"})"), std::string::npos)
      << running.body;
  EXPECT_NE(running.body.find(R"("tpm":{"enabled":false})"), std::string::npos) << running.body;
  ApiDeviceAnswer late = http("PUT", "/vsock", R"({"guest_cid": 4, "uds_path": "w.sock"})");
  EXPECT_EQ(late.status, 400) << late.body;
  EXPECT_NE(late.body.find("PutVsock: the VM has started"), std::string::npos) << late.body;

  ASSERT_TRUE(launcher->send_signal(SIGTERM).ok());
  ProcessResult run = launcher->wait(std::chrono::seconds(30));
  EXPECT_TRUE(run.exited) << run.describe();
  EXPECT_FALSE(fs::exists(vm_dir)) << "the VM's vsock directory is left";
  expect_nothing_left();
}

// (A short name: the test directory is in swtpm's socket paths, which must fit sun_path.)
TEST_F(JailApiDevicesTest, PutTpmRunsSwtpm) {
  for (const char* tool : {"/usr/bin/swtpm", "/usr/bin/swtpm_setup"}) {
    if (::access(tool, X_OK) != 0) GTEST_SKIP() << tool << " missing (scripts/setup.sh installs swtpm, swtpm-tools)";
  }
  // As jail_tpm_test.cc's host config: SELinux off.
  write_api_host_config(", \"selinux\": \"off\", \"tpm\": {\"state_dir\": \"" + state_dir_ + "\"}");
  auto launcher = start_api_launcher();
  ASSERT_TRUE(launcher.ok()) << launcher.error().message();
  put_boot_and_machine();
  // This host config has no "vsock": refused by name, as a vm.json's would be.
  ApiDeviceAnswer no_vsock = http("PUT", "/vsock", R"({"guest_cid": 3, "uds_path": "v.sock"})");
  EXPECT_EQ(no_vsock.status, 400) << no_vsock.body;
  EXPECT_NE(no_vsock.body.find("a vsock device is not available on this host"), std::string::npos) << no_vsock.body;
  ApiDeviceAnswer tpm = http("PUT", "/tpm", R"({"enabled": true})");
  ASSERT_EQ(tpm.status, 204) << tpm.body;
  EXPECT_NE(http("GET", "/vm/config").body.find(R"("tpm":{"enabled":true})"), std::string::npos);

  ApiDeviceAnswer start = http("PUT", "/actions", R"({"action_type": "InstanceStart"})");
  ASSERT_EQ(start.status, 204) << start.body << launcher->wait(std::chrono::seconds(10)).describe();
  ASSERT_TRUE(launcher->wait_for_stdout("STANDIN-RUNNING", std::chrono::seconds(60)))
      << launcher->wait(std::chrono::seconds(1)).describe();
  // swtpm runs jailed in the VM's own cgroup leaf, as the VM's user, and the launch was measured
  // into it with its event log written.
  pid_t swtpm = -1;
  std::istringstream(read_text(cgroup_leaves(id_ + ".tpm")[1] + "/cgroup.procs")) >> swtpm;
  ASSERT_GT(swtpm, 0) << "no process in swtpm's cgroup";
  EXPECT_EQ(trimmed(read_text("/proc/" + std::to_string(swtpm) + "/comm")), "swtpm");
  EXPECT_EQ(status_field(swtpm, "Uid").substr(0, std::to_string(vm_uid_).size()), std::to_string(vm_uid_));
  const std::string tpm_run_dir = run_dir_ + "/tpm/" + id_;
  EXPECT_TRUE(fs::exists(tpm_run_dir + "/eventlog.bin")) << "no event log in " << tpm_run_dir;
  EXPECT_GT(fs::file_size(tpm_run_dir + "/eventlog.bin"), 0u);
  ApiDeviceAnswer late = http("PUT", "/tpm", R"({"enabled": false})");
  EXPECT_EQ(late.status, 400) << late.body;
  EXPECT_NE(late.body.find("PutTpm: the VM has started"), std::string::npos) << late.body;

  ASSERT_TRUE(launcher->send_signal(SIGTERM).ok());
  ProcessResult run = launcher->wait(std::chrono::seconds(60));
  EXPECT_TRUE(run.exited && run.exit_code == 0) << run.describe();
  EXPECT_NE(run.err.find("measured launch:"), std::string::npos) << run.describe();
  EXPECT_FALSE(fs::exists(tpm_run_dir));
  EXPECT_TRUE(fs::exists(state_dir_ + "/" + id_ + "/tpm2-00.permall")) << "the TPM's state is kept";
  expect_nothing_left();
  for (const std::string& leaf : cgroup_leaves(id_ + ".tpm")) EXPECT_FALSE(fs::exists(leaf)) << leaf;
}

}  // namespace
}  // namespace bulwark::test

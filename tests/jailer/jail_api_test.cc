// `bulwark run --api-sock` end to end on a host without KVM: the real launcher makes the API
// socket and runs the jailed bulwark-api on it; curl, as an operator's control plane would, walks
// Firecracker's getting-started requests (boot-source, machine-config, drives, entropy,
// InstanceStart); the VM that starts is the stand-in monitor (standin_monitor.cc) in the
// monitor's real jail, with the real jailed bulwark-dev-blk, and it reports what it was given.
// Root and curl needed; KVM not.
#include <signal.h>
#include <sys/stat.h>

#include <map>
#include <regex>
#include <thread>

#include "tests/jailer/jail_fixture.h"
#include "tests/support/shell_command.h"

namespace bulwark::test {
namespace {

struct HttpAnswer {
  int status = 0;
  std::string body;
};

class JailApiTest : public JailTest {
 protected:
  void SetUp() override {
    prepare(false);
    if (IsSkipped()) return;
    if (::access("/usr/bin/curl", X_OK) != 0) GTEST_SKIP() << "needs curl";
    images_ = dir_ + "/images";
    fs::create_directories(images_);
    ::chmod(images_.c_str(), 0755);
    kernel_ = images_ + "/kernel";  // never read: the stand-in monitor boots nothing
    std::ofstream(kernel_) << "not a kernel";
    ::chmod(kernel_.c_str(), 0644);
    disk_ = images_ + "/disk.raw";
    std::ofstream(disk_) << std::string(1 << 21, '\x11');
    ::chmod(disk_.c_str(), 0666);
    socket_ = dir_ + "/api.sock";
    out_ = dir_ + "/out";
    fs::create_directories(out_);
    write_host_config(", \"api\": {\"image_dirs\": [\"" + images_ + "\"], \"output_dirs\": [\"" + out_ + "\"]}");
  }
  Result<ChildProcess> start_launcher(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"run", "--host-config", host_config_path(), "--id", id_, "--monitor",
                                  BULWARK_STANDIN_MONITOR, "--api-sock", socket_};
    args.insert(args.end(), extra.begin(), extra.end());
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
  HttpAnswer http(const std::string& method, const std::string& path, const std::string& body = "",
                  int max_seconds = 20) {
    std::string command = "curl -s --max-time " + std::to_string(max_seconds) + " --unix-socket " + socket_ + " -X " + method +
                          " -w '\\n%{http_code}' ";
    if (!body.empty()) command += "-H 'Content-Type: application/json' -d '" + body + "' ";
    command += "'http://localhost" + path + "'";
    ShellResult result = run_shell(command, 30);
    HttpAnswer answer;
    const size_t last = result.output.rfind('\n');
    if (last == std::string::npos) return answer;
    answer.body = result.output.substr(0, last);
    answer.status = std::atoi(result.output.c_str() + last + 1);
    return answer;
  }
  std::string images_, kernel_, disk_, socket_, out_;
};

TEST_F(JailApiTest, FirecrackersGettingStartedRequestsStartTheVmAndShutdownStopsIt) {
  auto launcher = start_launcher();
  ASSERT_TRUE(launcher.ok()) << launcher.error().message();
  struct stat st{};
  ASSERT_EQ(::stat(socket_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "no api.socket_gid: root only";
  EXPECT_EQ(st.st_uid, 0u);

  HttpAnswer info = http("GET", "/");
  EXPECT_EQ(info.status, 200) << info.body;
  EXPECT_NE(info.body.find("\"state\":\"Not started\""), std::string::npos) << info.body;
  EXPECT_EQ(http("PUT", "/boot-source", R"({"kernel_image_path": "kernel", "boot_args": "console=ttyS0 standin.wait"})").status, 204);
  EXPECT_EQ(http("PUT", "/machine-config", R"({"vcpu_count": 2, "mem_size_mib": 96})").status, 204);
  EXPECT_EQ(http("PUT", "/drives/rootfs",
                 R"({"drive_id": "rootfs", "path_on_host": ")" + disk_ + R"(", "is_root_device": true, "is_read_only": false})")
                .status,
            204);
  EXPECT_EQ(http("PUT", "/entropy", "{}").status, 204);
  HttpAnswer machine = http("GET", "/machine-config");
  EXPECT_NE(machine.body.find("\"mem_size_mib\":96"), std::string::npos) << machine.body;

  HttpAnswer start = http("PUT", "/actions", R"({"action_type": "InstanceStart"})");
  EXPECT_EQ(start.status, 204) << start.body;
  ASSERT_TRUE(launcher->wait_for_stdout("STANDIN-RUNNING", std::chrono::seconds(30)))
      << launcher->wait(std::chrono::seconds(1)).describe();
  EXPECT_TRUE(launcher->wait_for_stdout("STANDIN-RUNNING vcpus=2 memory_mib=96 disks=1", std::chrono::seconds(1)));
  EXPECT_TRUE(launcher->wait_for_stdout("STANDIN-BLK 0 read 1111111111111111", std::chrono::seconds(1)));

  info = http("GET", "/");
  EXPECT_NE(info.body.find("\"state\":\"Running\""), std::string::npos) << info.body;
  HttpAnswer config = http("GET", "/vm/config");
  EXPECT_EQ(config.status, 200);
  EXPECT_NE(config.body.find(disk_), std::string::npos) << config.body;
  EXPECT_NE(config.body.find("root=/dev/vda rw"), std::string::npos) << config.body;
  HttpAnswer late = http("PUT", "/boot-source", R"({"kernel_image_path": "kernel"})");
  EXPECT_EQ(late.status, 400);
  EXPECT_NE(late.body.find("fault_message"), std::string::npos) << late.body;
  HttpAnswer metrics = http("GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  std::ofstream(dir_ + "/metrics.txt") << metrics.body;
  ShellResult parsed = run_shell(
      "/usr/bin/python3 -c 'import sys\nfrom prometheus_client.parser import text_string_to_metric_families as p\n"
      "fams = {f.name: f for f in p(open(sys.argv[1]).read())}\n"
      "s = [x for x in fams[\"bulwark_vm_state\"].samples if x.value == 1]\n"
      "print(s[0].labels[\"state\"], int(fams[\"bulwark_vm_disks\"].samples[0].value))' " + dir_ + "/metrics.txt");
  EXPECT_EQ(parsed.status, 0) << parsed.output << metrics.body;
  EXPECT_EQ(parsed.output, "Running 1\n") << metrics.body;

  // Metrics as JSON lines in a file the operator's output_dirs allow (Firecracker's PUT /metrics).
  EXPECT_EQ(http("PUT", "/metrics", R"({"metrics_path": "/etc/metrics.json"})").status, 400);
  EXPECT_EQ(http("PUT", "/metrics", R"({"metrics_path": "metrics.json"})").status, 204);
  EXPECT_EQ(http("PUT", "/actions", R"({"action_type": "FlushMetrics"})").status, 204);
  ShellResult line = run_shell("/usr/bin/python3 -c 'import json,sys; d = json.loads(open(sys.argv[1]).readline()); "
                               "print(d[\"state\"], d[\"disks\"], d[\"vm\"])' " + out_ + "/metrics.json");
  EXPECT_EQ(line.output, "Running 1 " + id_ + "\n");

  // The operator's CLI on the same socket.
  ShellResult cli_info = run_shell(std::string(BULWARK_JAILER) + " vm info --api-sock " + socket_, 30);
  EXPECT_EQ(cli_info.status, 0) << cli_info.output;
  EXPECT_NE(cli_info.output.find("Running"), std::string::npos) << cli_info.output;
  EXPECT_NE(cli_info.output.find(id_), std::string::npos) << cli_info.output;
  ShellResult cli_metrics = run_shell(std::string(BULWARK_JAILER) + " vm metrics --json --api-sock " + socket_, 30);
  EXPECT_EQ(cli_metrics.status, 0) << cli_metrics.output;
  EXPECT_NE(cli_metrics.output.find("bulwark_vm_disks"), std::string::npos) << cli_metrics.output;
  ShellResult cli_policy = run_shell(std::string(BULWARK_JAILER) + " vm policy --json --api-sock " + socket_, 30);
  EXPECT_EQ(cli_policy.status, 0) << cli_policy.output.substr(0, 2000);
  EXPECT_NE(cli_policy.output.find("api.policy"), std::string::npos) << "GET /policy lists the API process";
  EXPECT_NE(cli_policy.output.find("\"" + id_ + "\""), std::string::npos) << "GET /policy names this VM: " << cli_policy.output.substr(0, 300);
  // Pause and resume reach the monitor's control channel through the launcher.
  ShellResult cli_pause = run_shell(std::string(BULWARK_JAILER) + " vm pause --api-sock " + socket_, 30);
  EXPECT_EQ(cli_pause.status, 0) << cli_pause.output;
  EXPECT_TRUE(launcher->wait_for_stdout("STANDIN-PAUSED", std::chrono::seconds(10)));
  EXPECT_NE(http("GET", "/").body.find("\"state\":\"Paused\""), std::string::npos);
  HttpAnswer again = http("PATCH", "/vm", R"({"state": "Paused"})");
  EXPECT_EQ(again.status, 400) << again.body;
  EXPECT_NE(again.body.find("already paused"), std::string::npos) << again.body;
  EXPECT_NE(http("GET", "/metrics").body.find("bulwark_monitor_paused 1"), std::string::npos);
  EXPECT_EQ(http("PATCH", "/vm", R"({"state": "Resumed"})").status, 204);
  EXPECT_TRUE(launcher->wait_for_stdout("STANDIN-RESUMED", std::chrono::seconds(10)));

  // Shutdown: Ctrl-Alt-Del to the guest, which ends the VM by itself (exit 0, not a kill).
  HttpAnswer shutdown = http("PUT", "/actions", R"({"action_type": "Shutdown", "timeout_s": 20})");
  EXPECT_EQ(shutdown.status, 204) << shutdown.body;
  ProcessResult end = launcher->wait(std::chrono::seconds(30));
  EXPECT_TRUE(end.exited && end.exit_code == 0) << end.describe();
  EXPECT_NE(end.out.find("STANDIN-CTRL-ALT-DEL"), std::string::npos) << end.describe();
  EXPECT_NE(::access(socket_.c_str(), F_OK), 0) << "the API socket was left behind";
  expect_nothing_left();
}

// api/README.md's launch phases, in launch order.
const std::vector<std::string> kLaunchPhases = {"device_processes", "vm_files", "jail_dir", "cgroup", "namespaces",
                                                "cgroup_attach", "selinux_label", "mounts", "pivot_root", "fds",
                                                "uid", "seccomp", "exec"};

TEST_F(JailApiTest, GetMetricsTimesEachLaunchPhaseOnceWithinTheLaunch) {
  auto launcher = start_launcher();
  ASSERT_TRUE(launcher.ok()) << launcher.error().message();
  EXPECT_EQ(http("PUT", "/boot-source", R"({"kernel_image_path": "kernel", "boot_args": "standin.wait"})").status, 204);
  EXPECT_EQ(http("PUT", "/drives/rootfs",
                 R"({"drive_id": "rootfs", "path_on_host": ")" + disk_ + R"(", "is_root_device": true, "is_read_only": true})")
                .status,
            204);
  // The launch is inside this request: InstanceStart is answered once the monitor runs.
  const auto before = std::chrono::steady_clock::now();
  HttpAnswer start = http("PUT", "/actions", R"({"action_type": "InstanceStart"})");
  const double launch_wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - before).count();
  ASSERT_EQ(start.status, 204) << start.body;
  ASSERT_TRUE(launcher->wait_for_stdout("STANDIN-RUNNING", std::chrono::seconds(30)));

  HttpAnswer metrics = http("GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  std::ofstream(dir_ + "/metrics.txt") << metrics.body;
  // Prometheus's own parser: each sample of the family as "phase value".
  ShellResult parsed = run_shell(
      "/usr/bin/python3 -c 'import sys\nfrom prometheus_client.parser import text_string_to_metric_families as p\n"
      "fams = {f.name: f for f in p(open(sys.argv[1]).read())}\n"
      "f = fams[\"bulwark_launch_phase_seconds\"]\nassert f.type == \"gauge\"\n"
      "print(\"\\n\".join(\"%s %.9f\" % (s.labels[\"phase\"], s.value) for s in f.samples))' " + dir_ + "/metrics.txt");
  ASSERT_EQ(parsed.status, 0) << parsed.output << metrics.body;
  std::map<std::string, int> seen;
  double sum = 0;
  std::istringstream lines(parsed.output);
  for (std::string phase; lines >> phase;) {
    double value = -1;
    lines >> value;
    ++seen[phase];
    EXPECT_GE(value, 0.0) << phase;
    sum += value;
  }
  for (const std::string& phase : kLaunchPhases) EXPECT_EQ(seen[phase], 1) << phase << "\n" << metrics.body;
  EXPECT_EQ(seen.size(), kLaunchPhases.size()) << parsed.output;
  EXPECT_GT(sum, 0.0);
  EXPECT_LT(sum, launch_wall) << parsed.output;

  // The same phases in PUT /metrics' JSON lines.
  EXPECT_EQ(http("PUT", "/metrics", R"({"metrics_path": "metrics.json"})").status, 204);
  EXPECT_EQ(http("PUT", "/actions", R"({"action_type": "FlushMetrics"})").status, 204);
  ShellResult json = run_shell("/usr/bin/python3 -c 'import json,sys; d = json.loads(open(sys.argv[1]).readline()); "
                               "print(\" \".join(d[\"launch_phase_seconds\"].keys()), "
                               "min(d[\"launch_phase_seconds\"].values()) >= 0)' " + out_ + "/metrics.json");
  std::string expected;
  for (const std::string& phase : kLaunchPhases) expected += phase + " ";
  EXPECT_EQ(json.output, expected + "True\n");

  EXPECT_EQ(http("PUT", "/actions", R"({"action_type": "Shutdown", "timeout_s": 20})").status, 204);
  ProcessResult end = launcher->wait(std::chrono::seconds(30));
  EXPECT_TRUE(end.exited && end.exit_code == 0) << end.describe();
  expect_nothing_left();
}

// PUT /logger: the least level the log relay passes on, for the launcher's stderr and the file
// it names. bulwark-api's refusals are warnings ("bulwark-api: warning: refused ..."); a disk
// declared qcow2 that is not makes bulwark-dev-blk write an error.
TEST_F(JailApiTest, PutLoggerAtErrorKeepsWarningsOutAndErrorsGoToTheFileToo) {
  auto launcher = start_launcher();
  ASSERT_TRUE(launcher.ok()) << launcher.error().message();
  HttpAnswer bad_level = http("PUT", "/logger", R"({"log_path": "vm.log", "level": "Loud"})");
  EXPECT_EQ(bad_level.status, 400);
  EXPECT_NE(bad_level.body.find("level"), std::string::npos) << bad_level.body;
  HttpAnswer outside = http("PUT", "/logger", R"({"log_path": "/etc/vm.log", "level": "Error"})");
  EXPECT_EQ(outside.status, 400);
  EXPECT_NE(outside.body.find("api.output_dirs"), std::string::npos) << outside.body;
  HttpAnswer module = http("PUT", "/logger", R"({"log_path": "vm.log", "module": "vmm"})");
  EXPECT_EQ(module.status, 400);
  EXPECT_FALSE(fs::exists(out_ + "/vm.log")) << "a refused PUT /logger created its file";

  HttpAnswer logger = http("PUT", "/logger", R"({"log_path": "vm.log", "level": "error", "show_level": false})");
  EXPECT_EQ(logger.status, 204) << logger.body;
  EXPECT_EQ(http("PUT", "/logger", R"({"log_path": "vm.log", "level": "Info"})").status, 400) << "once per VM";
  // A warning now: filtered out.
  EXPECT_EQ(http("PUT", "/machine-config", R"({"vcpu_count": "many"})").status, 400);
  EXPECT_EQ(http("PUT", "/boot-source", R"({"kernel_image_path": "kernel", "boot_args": "standin.wait"})").status, 204);
  EXPECT_EQ(http("PUT", "/drives/rootfs",
                 R"({"drive_id": "rootfs", "path_on_host": ")" + disk_ +
                     R"(", "is_root_device": true, "is_read_only": true, "format": "qcow2"})")
                .status,
            204);
  http("PUT", "/actions", R"({"action_type": "InstanceStart"})");  // dev-blk refuses the image
  ASSERT_TRUE(launcher->send_signal(SIGTERM).ok());
  ProcessResult end = launcher->wait(std::chrono::seconds(30));

  const std::string file = read_text(out_ + "/vm.log");
  const std::string error_record = "bulwark[" + id_ + "/dev-blk:blk0]: bulwark-dev-blk: error: ";
  EXPECT_NE(file.find(error_record), std::string::npos) << "file:\n" << file << end.describe();
  EXPECT_NE(end.err.find(error_record), std::string::npos) << end.describe();
  std::istringstream file_lines(file);
  for (std::string line; std::getline(file_lines, line);) {
    EXPECT_NE(line.find(": error: "), std::string::npos) << "below Error in the file: " << line;
  }
  // On the launcher's stderr: bulwark-api's refusals before PUT /logger, none after it.
  bool refusal_before = false, refusal_after = false;
  std::istringstream err_lines(end.err);
  for (std::string line; std::getline(err_lines, line);) {
    if (line.find("warning: refused") == std::string::npos) continue;
    if (line.find("/logger") != std::string::npos) refusal_before = true;
    if (line.find("/machine-config") != std::string::npos) refusal_after = true;
  }
  EXPECT_TRUE(refusal_before) << end.describe();
  EXPECT_FALSE(refusal_after) << end.describe();
  expect_nothing_left();
}

TEST_F(JailApiTest, PatchDriveSetsTheRunningDisksRateLimitThroughItsControlChannel) {
  auto launcher = start_launcher();
  ASSERT_TRUE(launcher.ok()) << launcher.error().message();
  const std::string limit = R"({"drive_id": "rootfs", "rate_limiter": {"bandwidth": {"size": 65536, "refill_time": 100}}})";
  HttpAnswer early = http("PATCH", "/drives/rootfs", limit);
  EXPECT_EQ(early.status, 400) << "before InstanceStart: " << early.body;
  EXPECT_NE(early.body.find("has not started"), std::string::npos) << early.body;
  EXPECT_EQ(http("PUT", "/boot-source", R"({"kernel_image_path": "kernel", "boot_args": "console=ttyS0 standin.wait"})").status, 204);
  EXPECT_EQ(http("PUT", "/drives/rootfs",
                 R"({"drive_id": "rootfs", "path_on_host": ")" + disk_ + R"(", "is_root_device": true, "is_read_only": false})")
                .status,
            204);
  EXPECT_EQ(http("PUT", "/actions", R"({"action_type": "InstanceStart"})").status, 204);
  ASSERT_TRUE(launcher->wait_for_stdout("STANDIN-RUNNING", std::chrono::seconds(30)))
      << launcher->wait(std::chrono::seconds(1)).describe();

  HttpAnswer patched = http("PATCH", "/drives/rootfs", limit);
  EXPECT_EQ(patched.status, 204) << patched.body;
  HttpAnswer config = http("GET", "/vm/config");
  EXPECT_NE(config.body.find(R"("rate_limiter":{"bandwidth":{"size":65536,"refill_time":100}})"), std::string::npos)
      << config.body;
  // Above the bounds a vm.json's rate_limiter is held to (2^40 tokens): refused, nothing sent.
  HttpAnswer huge = http("PATCH", "/drives/rootfs",
                         R"({"drive_id": "rootfs", "rate_limiter": {"ops": {"size": 2199023255552, "refill_time": 100}}})");
  EXPECT_EQ(huge.status, 400) << huge.body;
  EXPECT_NE(huge.body.find("/drives/rootfs/rate_limiter/ops/size"), std::string::npos) << huge.body;
  HttpAnswer unknown = http("PATCH", "/drives/nosuch", R"({"drive_id": "nosuch", "rate_limiter": {}})");
  EXPECT_EQ(unknown.status, 400) << unknown.body;
  EXPECT_NE(unknown.body.find("no such drive"), std::string::npos) << unknown.body;
  HttpAnswer no_nic = http("PATCH", "/network-interfaces/eth0", R"({"iface_id": "eth0"})");
  EXPECT_EQ(no_nic.status, 400) << no_nic.body;
  // The limit is lifted again (size 0), and the disk still serves the guest's reads meanwhile.
  EXPECT_EQ(http("PATCH", "/drives/rootfs", R"({"drive_id": "rootfs", "rate_limiter": {"bandwidth": {"size": 0, "refill_time": 0}}})").status, 204);
  EXPECT_EQ(http("GET", "/vm/config").body.find("rate_limiter"), std::string::npos);

  HttpAnswer shutdown = http("PUT", "/actions", R"({"action_type": "Shutdown", "timeout_s": 20})");
  EXPECT_EQ(shutdown.status, 204) << shutdown.body;
  ProcessResult end = launcher->wait(std::chrono::seconds(30));
  EXPECT_TRUE(end.exited && end.exit_code == 0) << end.describe();
  // The device itself says what it enforces now (its log line, relayed by the launcher).
  EXPECT_NE(end.err.find("rate limit set: bytes 65536:100:0, requests none"), std::string::npos) << end.err;
  EXPECT_NE(end.err.find("rate limit set: bytes none, requests none"), std::string::npos) << end.err;
  expect_nothing_left();
}

// PATCH /vm pauses the device processes with the vCPUs (Pause and Resume on each one's control
// channel: the disk says so in its log), GET /metrics carries the disk's own counters of what the
// stand-in guest did (one 4 KiB read, one 4 KiB write, one flush), and Firecracker's
// getting-started PUT /logger body, exactly (show_log_origin true, "./firecracker.log"), works.
TEST_F(JailApiTest, PatchVmPausesTheDiskProcessAndMetricsCountItsRequests) {
  auto launcher = start_launcher();
  ASSERT_TRUE(launcher.ok()) << launcher.error().message();
  HttpAnswer logger = http("PUT", "/logger", R"({
        "log_path": "./firecracker.log",
        "level": "Debug",
        "show_level": true,
        "show_log_origin": true
    })");
  EXPECT_EQ(logger.status, 204) << logger.body;
  EXPECT_EQ(http("PUT", "/boot-source", R"({"kernel_image_path": "kernel", "boot_args": "console=ttyS0 standin.wait"})").status, 204);
  EXPECT_EQ(http("PUT", "/drives/rootfs",
                 R"({"drive_id": "rootfs", "path_on_host": ")" + disk_ + R"(", "is_root_device": true, "is_read_only": false})")
                .status,
            204);
  EXPECT_EQ(http("PUT", "/actions", R"({"action_type": "InstanceStart"})").status, 204);
  ASSERT_TRUE(launcher->wait_for_stdout("STANDIN-BLK 0 wrote ok", std::chrono::seconds(30)))
      << launcher->wait(std::chrono::seconds(1)).describe();
  ASSERT_TRUE(launcher->wait_for_stdout("STANDIN-RUNNING", std::chrono::seconds(30)));

  HttpAnswer metrics = http("GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  std::ofstream(dir_ + "/metrics.txt") << metrics.body;
  ShellResult parsed = run_shell(
      "/usr/bin/python3 -c 'import sys\nfrom prometheus_client.parser import text_string_to_metric_families as p\n"
      "for f in p(open(sys.argv[1]).read()):\n"
      "  for s in f.samples:\n"
      "    if s.name.startswith(\"bulwark_block_\"): print(f.type, s.name, s.labels[\"device\"], int(s.value))' " +
      dir_ + "/metrics.txt");
  ASSERT_EQ(parsed.status, 0) << parsed.output << metrics.body;
  EXPECT_EQ(parsed.output,
            "counter bulwark_block_read_count_total blk0 1\n"
            "counter bulwark_block_write_count_total blk0 1\n"
            "counter bulwark_block_flush_count_total blk0 1\n"
            "counter bulwark_block_read_bytes_total blk0 4096\n"
            "counter bulwark_block_write_bytes_total blk0 4096\n"
            "counter bulwark_block_execute_fails_total blk0 0\n"
            "counter bulwark_block_rate_limiter_throttled_events_total blk0 0\n")
      << metrics.body;

  EXPECT_EQ(http("PATCH", "/vm", R"({"state": "Paused"})").status, 204);
  EXPECT_TRUE(launcher->wait_for_stdout("STANDIN-PAUSED", std::chrono::seconds(10)));
  // The disk answers GET /metrics while paused (its control channel is still served).
  EXPECT_NE(http("GET", "/metrics").body.find("bulwark_block_read_count_total{device=\"blk0\"} 1"), std::string::npos);
  EXPECT_EQ(http("PATCH", "/vm", R"({"state": "Resumed"})").status, 204);
  EXPECT_TRUE(launcher->wait_for_stdout("STANDIN-RESUMED", std::chrono::seconds(10)));

  EXPECT_EQ(http("PUT", "/actions", R"({"action_type": "Shutdown", "timeout_s": 20})").status, 204);
  ProcessResult end = launcher->wait(std::chrono::seconds(30));
  EXPECT_TRUE(end.exited && end.exit_code == 0) << end.describe();
  // show_level's "[info] " before the disk's own line, on stderr and in the file.
  const std::string paused = "bulwark[" + id_ + "/dev-blk:blk0]: [info] bulwark-dev-blk: info: paused: the rings wait until Resume";
  const std::string resumed = "bulwark[" + id_ + "/dev-blk:blk0]: [info] bulwark-dev-blk: info: resumed: serving the rings again";
  const size_t paused_at = end.err.find(paused), resumed_at = end.err.find(resumed);
  EXPECT_NE(paused_at, std::string::npos) << end.err;
  EXPECT_NE(resumed_at, std::string::npos) << end.err;
  EXPECT_LT(paused_at, resumed_at) << end.err;
  // The getting-started log file ("./firecracker.log": in the first of api.output_dirs).
  const std::string file = read_text(out_ + "/firecracker.log");
  EXPECT_NE(file.find(paused), std::string::npos) << file;
  expect_nothing_left();
}

TEST_F(JailApiTest, RequestsNamingFilesOutsideTheOperatorsDirectoriesAreRefused) {
  auto launcher = start_launcher();
  ASSERT_TRUE(launcher.ok()) << launcher.error().message();
  HttpAnswer shadow = http("PUT", "/drives/rootfs",
                           R"({"drive_id": "rootfs", "path_on_host": "/etc/shadow", "is_root_device": true, "is_read_only": true})");
  EXPECT_EQ(shadow.status, 400);
  EXPECT_NE(shadow.body.find("not inside the operator's api.image_dirs"), std::string::npos) << shadow.body;
  HttpAnswer dots = http("PUT", "/boot-source", R"({"kernel_image_path": "../../etc/passwd"})");
  EXPECT_EQ(dots.status, 400);
  EXPECT_NE(dots.body.find(".."), std::string::npos) << dots.body;
  HttpAnswer too_big = http("PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 999999})");
  EXPECT_EQ(too_big.status, 400);
  EXPECT_NE(too_big.body.find("max_memory_mib"), std::string::npos) << too_big.body;
  HttpAnswer no_kernel = http("PUT", "/actions", R"({"action_type": "InstanceStart"})");
  EXPECT_EQ(no_kernel.status, 400);
  EXPECT_NE(no_kernel.body.find("boot source"), std::string::npos) << no_kernel.body;
  // Still configurable, and nothing ran: a stop now ends the launcher cleanly.
  EXPECT_EQ(http("GET", "/").status, 200);
  ASSERT_TRUE(launcher->send_signal(SIGTERM).ok());
  ProcessResult end = launcher->wait(std::chrono::seconds(30));
  EXPECT_TRUE(end.exited) << end.describe();
  EXPECT_EQ(end.out.find("STANDIN"), std::string::npos) << end.describe();
  expect_nothing_left();
}

TEST_F(JailApiTest, AnExistingFileAtTheSocketPathIsRefusedAndLeftAlone) {
  std::ofstream(socket_) << "someone else's";
  auto [program, full] = launcher_command_for_standin(
      BULWARK_JAILER,
      {"run", "--host-config", host_config_path(), "--id", id_, "--monitor", BULWARK_STANDIN_MONITOR, "--api-sock", socket_},
      dir_ + "/dev-overlay");
  ProcessResult result = run_process(program, full, {}, std::chrono::seconds(30));
  EXPECT_TRUE(result.exited && result.exit_code == 9) << result.describe();
  EXPECT_NE(result.err.find("already exists"), std::string::npos) << result.describe();
  EXPECT_EQ(read_text(socket_), "someone else's");
  expect_nothing_left();
}

TEST_F(JailApiTest, AKilledApiProcessIsRestartedOnceAndTheVmRunsOnWithoutIt) {
  auto launcher = start_launcher();
  ASSERT_TRUE(launcher.ok()) << launcher.error().message();
  EXPECT_EQ(http("PUT", "/boot-source", R"({"kernel_image_path": "kernel", "boot_args": "standin.wait"})").status, 204);
  EXPECT_EQ(http("PUT", "/actions", R"({"action_type": "InstanceStart"})").status, 204);
  ASSERT_TRUE(launcher->wait_for_stdout("STANDIN-RUNNING", std::chrono::seconds(30)));
  auto kill_api = [&]() {
    // The API process runs as the VM's uid: only this test's launcher's one has it.
    ShellResult killed = run_shell("pkill -KILL -u " + std::to_string(vm_uid_) + " -f '^bulwark-api'", 10);
    return killed.status == 0;
  };
  ASSERT_TRUE(kill_api());
  // Restarted once: the API answers again.
  bool answered = false;
  for (int i = 0; i < 50 && !answered; ++i) {
    answered = http("GET", "/", "", 2).status == 200;
    if (!answered) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(answered) << "the restarted API process did not answer";
  ASSERT_TRUE(kill_api());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  // Nobody accepts on the socket now: a client waits in the backlog until it gives up.
  EXPECT_NE(http("GET", "/", "", 2).status, 200) << "restarted twice";
  // The VM still runs: the launcher is still waiting on it, and a stop ends both.
  ASSERT_TRUE(launcher->send_signal(SIGTERM).ok());
  ProcessResult end = launcher->wait(std::chrono::seconds(30));
  EXPECT_TRUE(end.exited) << end.describe();
  // The stop signal asked the guest first: Ctrl-Alt-Del, and the VM ended by itself.
  EXPECT_NE(end.out.find("STANDIN-CTRL-ALT-DEL"), std::string::npos) << end.describe();
  EXPECT_EQ(end.exit_code, 0) << end.describe();
  EXPECT_NE(end.err.find("restarting it"), std::string::npos) << end.describe();
  EXPECT_NE(end.err.find("not again"), std::string::npos) << end.describe();
  expect_nothing_left();
}

}  // namespace
}  // namespace bulwark::test

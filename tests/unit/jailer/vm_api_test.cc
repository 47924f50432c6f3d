// The launcher's side of the API without a process: the operator's directories for request paths
// (api_host_config.h), the pre-boot VM held to the vm.json rules and the operator's ceilings
// (pending_vm.h), and what VmApi answers before and after start (vm_api.h).
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "devices/control/control_message.h"
#include "jailer/api/api_host_config.h"
#include "jailer/api/pending_vm.h"
#include "jailer/api/vm_api.h"
#include "jailer/host_config.h"
#include "jailer/log_relay.h"

namespace bulwark::jail {
namespace {

const std::vector<std::string> kDirs = {"/srv/images", "/srv/kernels"};

TEST(ApiOperatorDirs, NamesResolveOnlyInsideTheOperatorsDirectories) {
  EXPECT_EQ(*resolve_in_operator_dirs(kDirs, "vm-1/disk.qcow2", "path", "api.image_dirs"), "/srv/images/vm-1/disk.qcow2");
  EXPECT_EQ(*resolve_in_operator_dirs(kDirs, "/srv/kernels/vmlinuz", "path", "api.image_dirs"), "/srv/kernels/vmlinuz");
  // Firecracker's getting-started spelling: one leading "./" is the name without it.
  EXPECT_EQ(*resolve_in_operator_dirs(kDirs, "./firecracker.log", "path", "api.image_dirs"), "/srv/images/firecracker.log");
  for (const char* refused : {"/etc/shadow", "../etc/shadow", "vm-1/../../etc/shadow", "/srv/images/../x",
                              "/srv/images", "/srv/imagesX/a", "a//b", "././a", ".//a", "./../a", "./", "./.", "a/./b",
                              "a/.", "", "a\nb", ".//etc/shadow", ".//srv/images/x"}) {
    auto resolved = resolve_in_operator_dirs(kDirs, refused, "path_on_host", "api.image_dirs");
    EXPECT_FALSE(resolved.ok()) << refused << " -> " << (resolved.ok() ? *resolved : "");
  }
  auto none = resolve_in_operator_dirs({}, "disk.raw", "path_on_host", "api.image_dirs");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message().find("api.image_dirs is empty"), std::string::npos);
}

HostConfig host_with_dirs() {
  HostConfig host;
  host.api.image_dirs = kDirs;
  host.vm_limits.max_memory_mib = 1024;
  host.vm_limits.max_vcpus = 4;
  return host;
}

OperatorChoices vm_1() {
  OperatorChoices choices;
  choices.vm_id = "vm-1";
  return choices;
}

TEST(PendingVmTest, EachPutIsCheckedAgainstTheCeilingsAndARefusalChangesNothing) {
  const HostConfig host = host_with_dirs();
  PendingVm vm(host, vm_1());
  EXPECT_EQ(vm.apply(api::PutMachineConfig{2, 512, false, false, ""}).status, 204);
  const api::Reply too_big = vm.apply(api::PutMachineConfig{2, 4096, false, false, ""});
  EXPECT_EQ(too_big.status, 400);
  EXPECT_NE(too_big.body.find("max_memory_mib"), std::string::npos) << too_big.body;
  EXPECT_NE(vm.machine_config().body.find("\"mem_size_mib\":512"), std::string::npos) << "the refused PUT changed it";
  EXPECT_EQ(vm.apply(api::PutMachineConfig{1, 64, true, false, ""}).status, 400) << "smt";
  api::PutDrive outside{"rootfs", "/etc/shadow", true, false, "", {}};
  EXPECT_EQ(vm.apply(outside).status, 400);
  EXPECT_FALSE(vm.assemble().ok()) << "no boot source yet";
}

TEST(PendingVmTest, TheAssembledVmIsAVmJsonWithTheRootDriveFirst) {
  const HostConfig host = host_with_dirs();
  PendingVm vm(host, vm_1());
  ASSERT_EQ(vm.apply(api::PutBootSource{"vmlinuz", "", "console=ttyS0"}).status, 204);
  ASSERT_EQ(vm.apply(api::PutDrive{"data", "data.raw", false, true, "", {}}).status, 204);
  ASSERT_EQ(vm.apply(api::PutDrive{"rootfs", "root.qcow2", true, false, "qcow2", {}}).status, 204);
  EXPECT_EQ(vm.apply(api::PutDrive{"other", "o.raw", true, false, "", {}}).status, 400) << "two root devices";
  ASSERT_EQ(vm.apply(api::PutEntropy{}).status, 204);
  auto launch = vm.assemble();
  ASSERT_TRUE(launch.ok()) << launch.error().message();
  EXPECT_EQ(launch->vm.kernel, "/srv/images/vmlinuz");
  EXPECT_EQ(launch->vm.cmdline, "console=ttyS0 root=/dev/vda rw");
  ASSERT_EQ(launch->disks.size(), 2u);
  EXPECT_EQ(launch->disks[0].path, "/srv/images/root.qcow2");
  EXPECT_EQ(launch->disks[0].format, DiskFormat::kQcow2);
  EXPECT_TRUE(launch->disks[1].read_only);
  EXPECT_TRUE(launch->rng);
  EXPECT_EQ(launch->jail.id, "vm-1");
}

TEST(VmApiTest, PreBootResourcesAreRefusedOnceTheVmRunsAndRunTimeOnesBeforeIt) {
  const HostConfig host = host_with_dirs();
  VmApi vm(host, vm_1(), "vm-1");
  EXPECT_EQ(vm.handle(api::SetVmState{true}).reply.status, 400) << "pause before start";
  EXPECT_NE(vm.handle(api::GetInstanceInfo{}).reply.body.find("Not started"), std::string::npos);
  ASSERT_EQ(vm.handle(api::PutBootSource{"vmlinuz", "", ""}).reply.status, 204);
  VmApiOutcome start = vm.handle(api::InstanceStart{});
  ASSERT_TRUE(start.start_requested);
  ASSERT_TRUE(vm.assembled().has_value());
  vm.set_running(&*vm.assembled(), -1);
  EXPECT_NE(vm.handle(api::GetInstanceInfo{}).reply.body.find("Running"), std::string::npos);
  const api::Reply late = vm.handle(api::PutBootSource{"vmlinuz", "", ""}).reply;
  EXPECT_EQ(late.status, 400);
  EXPECT_NE(late.body.find("has started"), std::string::npos) << late.body;
  EXPECT_EQ(vm.handle(api::SetVmState{true}).reply.status, 501) << "no control channel";
  VmApiOutcome shutdown = vm.handle(api::Shutdown{7});
  ASSERT_TRUE(shutdown.stop.has_value());
  EXPECT_TRUE(shutdown.stop->terminate_now) << "no Ctrl-Alt-Del possible: SIGTERM at once";
  EXPECT_EQ(shutdown.stop->after, std::chrono::seconds(7));
}

// What PUT /logger tells the log relay (main.cc: LogRelay::configure), as a test double.
struct RelayCalls {
  int calls = 0;
  RelayLevel level = RelayLevel::kDebug;
  bool show_level = false;
  bool got_file = false;
  bool file_is_regular = false;
};

VmApi::LogControl recording(RelayCalls& calls) {
  return [&calls](RelayLevel level, bool show_level, int file) -> Status {
    ++calls.calls;
    calls.level = level;
    calls.show_level = show_level;
    calls.got_file = file >= 0;
    struct stat st{};
    calls.file_is_regular = file >= 0 && ::fstat(file, &st) == 0 && S_ISREG(st.st_mode);
    return ok_status();
  };
}

TEST(VmApiLogger, LevelAndAFileInsideTheOutputDirsReachTheRelay) {
  char dir_template[] = "/tmp/bulwark-vm-api-logger-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  HostConfig host = host_with_dirs();
  host.api.output_dirs = {dir};
  VmApi vm(host, vm_1(), "vm-1");
  api::PutLogger request{"vm.log", "Error", true, false, ""};
  EXPECT_EQ(vm.handle(request).reply.status, 501) << "no relay to tell";
  RelayCalls calls;
  vm.set_log_control(recording(calls));
  // Refused before anything reaches the relay or the file system.
  for (const api::PutLogger& refused : {api::PutLogger{"/etc/x.log", "Error", false, false, ""},
                                        api::PutLogger{"../x.log", "Error", false, false, ""},
                                        api::PutLogger{"vm.log", "Loud", false, false, ""},
                                        api::PutLogger{"vm.log", "error", false, false, ""},
                                        api::PutLogger{"vm.log", "Error", false, false, "vmm"}}) {
    const api::Reply reply = vm.handle(refused).reply;
    EXPECT_EQ(reply.status, 400) << refused.log_path << " " << refused.level;
    EXPECT_EQ(reply.body_kind, api::Reply::Body::kFault);
  }
  EXPECT_EQ(calls.calls, 0);
  EXPECT_FALSE(std::filesystem::exists(dir + "/vm.log"));
  // A symlink as the final component is never followed.
  std::filesystem::create_symlink("/etc/passwd", dir + "/link.log");
  EXPECT_EQ(vm.handle(api::PutLogger{"link.log", "Error", false, false, ""}).reply.status, 400);
  EXPECT_EQ(calls.calls, 0);

  // Firecracker's getting-started body: show_log_origin true is accepted (every record names its
  // process already), "./" as Firecracker's guide writes it.
  request = api::PutLogger{"./vm.log", "Error", true, true, ""};
  EXPECT_EQ(vm.handle(request).reply.status, 204);
  EXPECT_EQ(calls.calls, 1);
  EXPECT_TRUE(std::filesystem::exists(dir + "/vm.log"));
  EXPECT_EQ(calls.level, RelayLevel::kError);
  EXPECT_TRUE(calls.show_level);
  EXPECT_TRUE(calls.got_file);
  EXPECT_TRUE(calls.file_is_regular);
  const api::Reply again = vm.handle(api::PutLogger{"other.log", "Info", false, false, ""}).reply;
  EXPECT_EQ(again.status, 400) << "once per VM";
  EXPECT_NE(again.body.find("already configured"), std::string::npos) << again.body;
  EXPECT_EQ(calls.calls, 1);
  std::filesystem::remove_all(dir);
}

TEST(VmApiLogger, FirecrackersLevelsMapToTheRelaysAndLinesAreFilteredByTheirOwnLevel) {
  EXPECT_EQ(*parse_relay_level(""), RelayLevel::kInfo) << "Firecracker's default";
  EXPECT_EQ(*parse_relay_level("Trace"), RelayLevel::kDebug);
  EXPECT_EQ(*parse_relay_level("Off"), RelayLevel::kOff);
  EXPECT_FALSE(parse_relay_level("Warn").ok()) << "bulwark-api canonicalises; the launcher takes only canonical names";
  EXPECT_TRUE(relay_level_passes(RelayLevel::kError, relayed_line_level("bulwark-dev-blk: error: bad image")));
  EXPECT_FALSE(relay_level_passes(RelayLevel::kError, relayed_line_level("bulwark-dev-blk: warning: slow")));
  EXPECT_FALSE(relay_level_passes(RelayLevel::kError, relayed_line_level("free text, no level")));
  EXPECT_TRUE(relay_level_passes(RelayLevel::kInfo, relayed_line_level("free text, no level")));
  EXPECT_FALSE(relay_level_passes(RelayLevel::kInfo, relayed_line_level("bulwark-monitor: debug: exit")));
  EXPECT_TRUE(relay_level_passes(RelayLevel::kDebug, relayed_line_level("bulwark-monitor: debug: exit")));
  EXPECT_FALSE(relay_level_passes(RelayLevel::kOff, relayed_line_level("bulwark-dev-blk: error: bad image")));
}

std::string memfd_text(int fd) {
  std::string all;
  char buffer[4096];
  for (off_t offset = 0;;) {
    const ssize_t n = ::pread(fd, buffer, sizeof buffer, offset);
    if (n <= 0) break;
    all.append(buffer, static_cast<size_t>(n));
    offset += n;
  }
  return all;
}

void write_line(int fd, const std::string& text) { ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size())); }

// The relay process itself (log_relay.h): what LogRelay::configure asks for, with real channels.
TEST(LogRelayLevel, LinesBelowTheLevelReachNeitherOutputAndTheRestReachBoth) {
  UniqueFd stderr_copy(::memfd_create("relay-stderr", MFD_CLOEXEC));
  UniqueFd log_file(::memfd_create("relay-log", MFD_CLOEXEC));
  ASSERT_TRUE(stderr_copy.valid() && log_file.valid());
  LogRelaySettings settings;
  settings.vm_id = "vm-3";
  settings.output_fd = stderr_copy.get();
  auto relay = LogRelay::start(std::move(settings));
  ASSERT_TRUE(relay.ok()) << relay.error().message();
  auto channel = relay->add_process("dev-blk:blk0");
  ASSERT_TRUE(channel.ok());
  write_line(*channel, "bulwark-dev-blk: warning: before the logger\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_TRUE(relay->configure(RelayLevel::kError, true, log_file.get()).ok());
  write_line(*channel, "bulwark-dev-blk: warning: after the logger\n");
  write_line(*channel, "no level at all\n");
  write_line(*channel, "bulwark-dev-blk: error: bad image\n");
  relay->finish(std::chrono::seconds(2));
  const std::string out = memfd_text(stderr_copy.get());
  const std::string file = memfd_text(log_file.get());
  EXPECT_NE(out.find("warning: before the logger"), std::string::npos) << out;
  EXPECT_EQ(file.find("before the logger"), std::string::npos) << "the file gets records from its PUT on: " << file;
  for (const std::string& text : {out, file}) {
    EXPECT_EQ(text.find("after the logger"), std::string::npos) << text;
    EXPECT_EQ(text.find("no level at all"), std::string::npos) << "an unshaped line counts as info: " << text;
    EXPECT_NE(text.find("bulwark[vm-3/dev-blk:blk0]: [error] bulwark-dev-blk: error: bad image\n"), std::string::npos)
        << "show_level: " << text;
  }
}

TEST(VmApiMetrics, LaunchPhasesAreGaugesAndJsonFields) {
  char dir_template[] = "/tmp/bulwark-vm-api-metrics-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  HostConfig host = host_with_dirs();
  host.api.output_dirs = {dir};
  VmApi vm(host, vm_1(), "vm-1");
  EXPECT_EQ(vm.handle(api::GetMetrics{}).reply.body.find("bulwark_launch_phase_seconds"), std::string::npos)
      << "nothing launched yet";
  ASSERT_EQ(vm.handle(api::PutBootSource{"vmlinuz", "", ""}).reply.status, 204);
  ASSERT_TRUE(vm.handle(api::InstanceStart{}).start_requested);
  vm.set_launch_phases({{"cgroup", 1'500'000}, {"exec", 2'000'000'001}});
  vm.set_running(&*vm.assembled(), -1);
  const std::string text = vm.handle(api::GetMetrics{}).reply.body;
  EXPECT_NE(text.find("# TYPE bulwark_launch_phase_seconds gauge\n"), std::string::npos) << text;
  EXPECT_NE(text.find("bulwark_launch_phase_seconds{phase=\"cgroup\"} 0.001500000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("bulwark_launch_phase_seconds{phase=\"exec\"} 2.000000001\n"), std::string::npos) << text;
  ASSERT_EQ(vm.handle(api::PutMetrics{"m.json"}).reply.status, 204);
  ASSERT_EQ(vm.handle(api::FlushMetrics{}).reply.status, 204);
  std::ifstream in(dir + "/m.json");
  std::string line;
  std::getline(in, line);
  auto json = nlohmann::json::parse(line, nullptr, false);
  ASSERT_TRUE(json.is_object()) << line;
  EXPECT_DOUBLE_EQ(json["launch_phase_seconds"].value("cgroup", -1.0), 0.0015) << line;
  EXPECT_DOUBLE_EQ(json["launch_phase_seconds"].value("exec", -1.0), 2.000000001) << line;
  std::filesystem::remove_all(dir);
}

// PUT /vsock and PUT /tpm (issue 17): the vm.json's "vsock" and "tpm", held to the same host
// config rules, before start only.
HostConfig host_with_vsock_and_tpm() {
  HostConfig host = host_with_dirs();
  host.vsock.dir = "/run/bw-vsock";
  host.tpm.state_dir = "/var/lib/bw-tpm";
  return host;
}

nlohmann::json body_json(const api::Reply& reply) { return nlohmann::json::parse(reply.body, nullptr, false); }

TEST(PendingVmVsock, AVsockNeedsTheOperatorsVsockDirectory) {
  const HostConfig host = host_with_dirs();  // no "vsock"
  PendingVm vm(host, vm_1());
  const api::Reply refused = vm.apply(api::PutVsock{"", 3, "v.sock"});
  EXPECT_EQ(refused.status, 400);
  EXPECT_NE(refused.body.find("config: /vsock: a vsock device is not available on this host"), std::string::npos)
      << refused.body;
  EXPECT_FALSE(body_json(vm.vm_config()).contains("vsock")) << "the refused PUT changed the VM";
  ASSERT_EQ(vm.apply(api::PutBootSource{"vmlinuz", "", ""}).status, 204);
  auto launch = vm.assemble();
  ASSERT_TRUE(launch.ok()) << launch.error().message();
  EXPECT_FALSE(launch->vsock.has_value());
}

TEST(PendingVmVsock, TheUdsPathIsANameInTheVmsVsockDirectory) {
  const HostConfig host = host_with_vsock_and_tpm();
  PendingVm vm(host, vm_1());
  for (const char* refused : {"/tmp/v.sock", "../v.sock", "a/b", ".", "..", "./", "././v", "v sock"}) {
    const api::Reply reply = vm.apply(api::PutVsock{"", 3, refused});
    EXPECT_EQ(reply.status, 400) << refused;
    EXPECT_NE(reply.body.find("uds_path"), std::string::npos) << refused << ": " << reply.body;
  }
  EXPECT_EQ(vm.apply(api::PutVsock{"", 3, std::string(65, 'v')}).status, 400) << "longer than vm.json's 64";
  // Firecracker's getting-started spelling "./v.sock" is the name v.sock.
  ASSERT_EQ(vm.apply(api::PutVsock{"vsock0", 42, "./v.sock"}).status, 204);
  const nlohmann::json config = body_json(vm.vm_config());
  EXPECT_EQ(config["vsock"], nlohmann::json({{"vsock_id", "vsock0"}, {"guest_cid", 42}, {"uds_path", "v.sock"}}))
      << config.dump();
  EXPECT_EQ(vm.vsock_id(), "vsock0");
  // A second PUT replaces the first (one vsock per VM).
  ASSERT_EQ(vm.apply(api::PutVsock{"", 4294967294u, "guest.sock"}).status, 204);
  ASSERT_EQ(vm.apply(api::PutBootSource{"vmlinuz", "", ""}).status, 204);
  auto launch = vm.assemble();
  ASSERT_TRUE(launch.ok()) << launch.error().message();
  ASSERT_TRUE(launch->vsock.has_value());
  EXPECT_EQ(launch->vsock->guest_cid, 4294967294u);
  EXPECT_EQ(launch->vsock->uds_path, "guest.sock");
  EXPECT_EQ(launch->vsock_host.dir, "/run/bw-vsock") << "the operator's directory, as for a vm.json";
  EXPECT_EQ(vm_vsock_socket_path(launch->vsock_host, launch->jail.id, *launch->vsock), "/run/bw-vsock/vm-1/guest.sock");
}

TEST(PendingVmTpm, ATpmIsRefusedByNameUnlessTheHostConfigAllowsOne) {
  const HostConfig without = host_with_dirs();
  PendingVm refused_vm(without, vm_1());
  const api::Reply refused = refused_vm.apply(api::PutTpm{true});
  EXPECT_EQ(refused.status, 400);
  EXPECT_NE(refused.body.find("config: /tpm: a TPM is not available on this host"), std::string::npos) << refused.body;
  EXPECT_EQ(body_json(refused_vm.vm_config())["tpm"], nlohmann::json({{"enabled", false}}));
  EXPECT_EQ(refused_vm.apply(api::PutTpm{false}).status, 204) << "asking for none is always fine";

  const HostConfig host = host_with_vsock_and_tpm();
  PendingVm vm(host, vm_1());
  ASSERT_EQ(vm.apply(api::PutTpm{true}).status, 204);
  EXPECT_EQ(body_json(vm.vm_config())["tpm"], nlohmann::json({{"enabled", true}}));
  ASSERT_EQ(vm.apply(api::PutBootSource{"vmlinuz", "", ""}).status, 204);
  auto launch = vm.assemble();
  ASSERT_TRUE(launch.ok()) << launch.error().message();
  EXPECT_TRUE(launch->tpm);
  EXPECT_EQ(launch->tpm_host.state_dir, "/var/lib/bw-tpm");
  ASSERT_EQ(vm.apply(api::PutTpm{false}).status, 204);
  launch = vm.assemble();
  ASSERT_TRUE(launch.ok()) << launch.error().message();
  EXPECT_FALSE(launch->tpm);
  EXPECT_FALSE(launch->tpm_host.enabled());
}

TEST(VmApiVsockTpm, PreBootOnlyAndShownInTheRunningConfig) {
  const HostConfig host = host_with_vsock_and_tpm();
  VmApi vm(host, vm_1(), "vm-1");
  ASSERT_EQ(vm.handle(api::PutBootSource{"vmlinuz", "", ""}).reply.status, 204);
  ASSERT_EQ(vm.handle(api::PutVsock{"vs", 7, "v.sock"}).reply.status, 204);
  ASSERT_EQ(vm.handle(api::PutTpm{true}).reply.status, 204);
  VmApiOutcome start = vm.handle(api::InstanceStart{});
  ASSERT_TRUE(start.start_requested) << start.reply.body;
  ASSERT_TRUE(vm.assembled()->vsock.has_value());
  EXPECT_TRUE(vm.assembled()->tpm);
  vm.set_running(&*vm.assembled(), -1);
  for (const api::Command& late : {api::Command(api::PutVsock{"", 8, "w.sock"}), api::Command(api::PutTpm{false})}) {
    const api::Reply reply = vm.handle(late).reply;
    EXPECT_EQ(reply.status, 400) << api::command_name(late);
    EXPECT_NE(reply.body.find(std::string(api::command_name(late)) + ": the VM has started"), std::string::npos)
        << reply.body;
  }
  const nlohmann::json config = body_json(vm.handle(api::GetVmConfig{}).reply);
  EXPECT_EQ(config["vsock"], nlohmann::json({{"vsock_id", "vs"}, {"guest_cid", 7}, {"uds_path", "v.sock"}}))
      << config.dump();
  EXPECT_EQ(config["tpm"], nlohmann::json({{"enabled", true}})) << config.dump();
}

TEST(VmApiReplaceDevice, IsRefusedFromTheApiByNameBeforeAndAfterStart) {
  const HostConfig host = host_with_dirs();
  VmApi vm(host, vm_1(), "vm-1");
  api::Reply reply = vm.handle(api::ReplaceDevice{0}).reply;
  EXPECT_EQ(reply.status, 400);
  EXPECT_NE(reply.body.find("ReplaceDevice: "), std::string::npos) << reply.body;
  EXPECT_NE(reply.body.find("not accepted from bulwark-api"), std::string::npos) << reply.body;
  ASSERT_EQ(vm.handle(api::PutBootSource{"vmlinuz", "", ""}).reply.status, 204);
  ASSERT_TRUE(vm.handle(api::InstanceStart{}).start_requested);
  vm.set_running(&*vm.assembled(), -1);
  reply = vm.handle(api::ReplaceDevice{1}).reply;
  EXPECT_EQ(reply.status, 400);
  EXPECT_NE(reply.body.find("ReplaceDevice: "), std::string::npos) << reply.body;
}

// GET /metrics asks every device at once and waits one shared deadline (issue 14): a disk that
// answers and two that stay silent (socketpairs nobody answers) cost about one timeout, not two.
TEST(VmApiMetricsDeadline, SilentDevicesShareOneDeadline) {
  const HostConfig host = host_with_dirs();
  VmApi vm(host, vm_1(), "vm-1");
  ASSERT_EQ(vm.handle(api::PutBootSource{"vmlinuz", "", ""}).reply.status, 204);
  ASSERT_TRUE(vm.handle(api::InstanceStart{}).start_requested);
  vm.set_running(&*vm.assembled(), -1);
  int pairs[3][2];
  for (auto& pair : pairs) ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  UniqueFd ends[3][2];
  for (int i = 0; i < 3; ++i) {
    ends[i][0].reset(pairs[i][0]);
    ends[i][1].reset(pairs[i][1]);
  }
  // Sorted by name: the silent ones come before the one that answers.
  vm.set_device_controls({{"blk0", ends[0][0].get()}, {"blk1", ends[1][0].get()}, {"net0", ends[2][0].get()}});
  const int answering = ends[2][1].get();
  std::thread device([answering]() {  // answers the two GET /metrics below
    for (int i = 0; i < 2; ++i) {
      pollfd p{answering, POLLIN, 0};
      if (::poll(&p, 1, 5000) != 1) return;
      devctl::Message in{};
      if (::recv(answering, in.data(), in.size(), MSG_WAITALL) != static_cast<ssize_t>(in.size())) return;
      auto command = devctl::decode_command(in);
      if (!command.ok() || command->op != devctl::Op::kGetStats) return;
      devctl::ControlReply reply{};
      reply.counters[devctl::kNetRxFrames] = 17;
      reply.counters[devctl::kNetTxBytes] = 4242;
      const devctl::Message out = devctl::encode_reply(reply, devctl::Op::kGetStats);
      ::send(answering, out.data(), out.size(), MSG_NOSIGNAL);
    }
  });
  const auto begin = std::chrono::steady_clock::now();
  const api::Reply metrics = vm.handle(api::GetMetrics{}).reply;
  const auto took = std::chrono::steady_clock::now() - begin;
  EXPECT_LT(took, std::chrono::milliseconds(1200)) << "each silent device waited for in turn";
  EXPECT_GE(took, std::chrono::milliseconds(900)) << "the silent devices were not given their second";
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("bulwark_net_rx_packets_count_total{device=\"net0\"} 17\n"), std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find("bulwark_net_tx_bytes_count_total{device=\"net0\"} 4242\n"), std::string::npos) << metrics.body;
  EXPECT_EQ(metrics.body.find("device=\"blk"), std::string::npos) << "no made-up samples for the silent: " << metrics.body;
  // The silent channels were given up: the next GET /metrics does not wait for them again.
  const auto again = std::chrono::steady_clock::now();
  const api::Reply second = vm.handle(api::GetMetrics{}).reply;
  EXPECT_LT(std::chrono::steady_clock::now() - again, std::chrono::milliseconds(900));
  EXPECT_NE(second.body.find("bulwark_net_rx_packets_count_total{device=\"net0\"} 17\n"), std::string::npos) << second.body;
  device.join();
}

}  // namespace
}  // namespace bulwark::jail

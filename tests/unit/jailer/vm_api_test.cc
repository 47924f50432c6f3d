// The launcher's side of the API without a process: the operator's directories for request paths
// (api_host_config.h), the pre-boot VM held to the vm.json rules and the operator's ceilings
// (pending_vm.h), and what VmApi answers before and after start (vm_api.h).
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

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

}  // namespace
}  // namespace bulwark::jail

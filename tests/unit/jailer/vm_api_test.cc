// The launcher's side of the API without a process: the operator's directories for request paths
// (api_host_config.h), the pre-boot VM held to the vm.json rules and the operator's ceilings
// (pending_vm.h), and what VmApi answers before and after start (vm_api.h).
#include <gtest/gtest.h>

#include "jailer/api/api_host_config.h"
#include "jailer/api/pending_vm.h"
#include "jailer/api/vm_api.h"
#include "jailer/host_config.h"

namespace bulwark::jail {
namespace {

const std::vector<std::string> kDirs = {"/srv/images", "/srv/kernels"};

TEST(ApiOperatorDirs, NamesResolveOnlyInsideTheOperatorsDirectories) {
  EXPECT_EQ(*resolve_in_operator_dirs(kDirs, "vm-1/disk.qcow2", "path", "api.image_dirs"), "/srv/images/vm-1/disk.qcow2");
  EXPECT_EQ(*resolve_in_operator_dirs(kDirs, "/srv/kernels/vmlinuz", "path", "api.image_dirs"), "/srv/kernels/vmlinuz");
  for (const char* refused : {"/etc/shadow", "../etc/shadow", "vm-1/../../etc/shadow", "/srv/images/../x",
                              "/srv/images", "/srv/imagesX/a", "a//b", "./a", "a/.", "", "a\nb"}) {
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

}  // namespace
}  // namespace bulwark::jail

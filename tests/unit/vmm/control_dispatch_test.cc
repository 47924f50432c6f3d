// What the monitor answers each control-channel command with, against a fake VM.
#include "monitor/vmm/control_dispatch.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/unit/vmm/fake_vm_controls.h"

namespace bulwark::vmm {
namespace {

using api::Reply;

Reply fault(uint16_t status, const std::string& message) { return Reply{status, Reply::Body::kFault, message}; }
const Reply kNoContent{204, Reply::Body::kNone, ""};

TEST(ControlDispatchTest, PauseAndResume) {
  FakeVmControls vm;
  EXPECT_EQ(dispatch_control_command(api::SetVmState{true}, vm), kNoContent);
  EXPECT_EQ(vm.pauses, 1);
  EXPECT_EQ(dispatch_control_command(api::SetVmState{false}, vm), kNoContent);
  EXPECT_EQ(vm.resumes, 1);
}

TEST(ControlDispatchTest, PauseOutcomesBecomeFaults) {
  FakeVmControls vm;
  vm.pause_outcome = PauseOutcome::kAlreadyInState;
  EXPECT_EQ(dispatch_control_command(api::SetVmState{true}, vm), fault(400, "already paused"));
  vm.resume_outcome = PauseOutcome::kAlreadyInState;
  EXPECT_EQ(dispatch_control_command(api::SetVmState{false}, vm), fault(400, "already running"));
  vm.pause_outcome = PauseOutcome::kTimedOut;
  EXPECT_EQ(dispatch_control_command(api::SetVmState{true}, vm),
            fault(500, "the vCPUs did not stop in time; the VM keeps running"));
  vm.pause_outcome = PauseOutcome::kStopping;
  EXPECT_EQ(dispatch_control_command(api::SetVmState{true}, vm), fault(503, "the VM is shutting down"));
}

TEST(ControlDispatchTest, CtrlAltDelNeedsTheGuestsKeyboard) {
  FakeVmControls vm;
  EXPECT_EQ(dispatch_control_command(api::SendCtrlAltDel{}, vm), kNoContent);
  vm.keyboard_enabled = false;
  EXPECT_EQ(dispatch_control_command(api::SendCtrlAltDel{}, vm),
            fault(409, "the guest has not enabled its keyboard"));
  EXPECT_EQ(vm.ctrl_alt_dels, 2);
}

TEST(ControlDispatchTest, MetricsAreReturnedAsPrometheusText) {
  FakeVmControls vm;
  EXPECT_EQ(dispatch_control_command(api::GetMetrics{}, vm),
            (Reply{200, Reply::Body::kPrometheus, "bulwark_monitor_vcpus 1\n"}));
  EXPECT_EQ(dispatch_control_command(api::FlushMetrics{}, vm), kNoContent);
  EXPECT_EQ(vm.flushes, 1);
}

TEST(ControlDispatchTest, LauncherCommandsAreRefusedWithoutTouchingTheVm) {
  FakeVmControls vm;
  const api::Command others[] = {
      api::PutBootSource{"/k", "", ""}, api::PutMachineConfig{}, api::PutDrive{}, api::PutNetworkInterface{},
      api::PutEntropy{}, api::InstanceStart{}, api::GetInstanceInfo{}, api::GetMachineConfig{},
      api::GetVmConfig{}, api::Shutdown{}, api::PatchDrive{}, api::PatchNetworkInterface{},
      api::PutLogger{}, api::PutMetrics{}, api::GetPolicy{}};
  for (const api::Command& command : others) {
    EXPECT_EQ(dispatch_control_command(command, vm), fault(400, "not a monitor command")) << api::command_name(command);
  }
  EXPECT_EQ(vm.calls(), 0);
}

TEST(ControlDispatchTest, ReplaceDeviceOutcomesBecomeReplies) {
  FakeVmControls vm;
  EXPECT_EQ(dispatch_control_command(api::ReplaceDevice{1}, vm), kNoContent);
  EXPECT_EQ(vm.replaced_index, 1u);
  EXPECT_FALSE(vm.replaced_with_socket);
  vm.replace_outcome = {ReplaceOutcome::Kind::kNoSuchDevice, ""};
  EXPECT_EQ(dispatch_control_command(api::ReplaceDevice{9}, vm), fault(404, "no vhost-user device 9"));
  vm.replace_outcome = {ReplaceOutcome::Kind::kNotWaiting, "its process still runs"};
  EXPECT_EQ(dispatch_control_command(api::ReplaceDevice{0}, vm),
            fault(409, "device 0 is not waiting for a replacement: its process still runs"));
  vm.replace_outcome = {ReplaceOutcome::Kind::kReconnectFailed, "it offers features 0x1"};
  std::vector<UniqueFd> one;
  one.emplace_back(::dup(0));
  EXPECT_EQ(dispatch_control_command(api::ReplaceDevice{0}, vm, std::move(one)),
            fault(502, "device 0: the replacement failed: it offers features 0x1"));
  EXPECT_TRUE(vm.replaced_with_socket);
  EXPECT_EQ(vm.replaces, 4);
}

TEST(ControlDispatchTest, MessagesAreDecodedAndRepliesEncoded) {
  FakeVmControls vm;
  auto reply = api::decode_reply(answer_control_message(api::encode_command(api::SetVmState{true}), vm));
  ASSERT_TRUE(reply.ok()) << reply.error().message();
  EXPECT_EQ(*reply, kNoContent);
  EXPECT_EQ(vm.pauses, 1);
}

TEST(ControlDispatchTest, MalformedMessagesAreA400AndTouchNothing) {
  FakeVmControls vm;
  std::vector<uint8_t> good = api::encode_command(api::SetVmState{true});
  const std::vector<std::vector<uint8_t>> bad = {
      {},
      {'B', 'W', 'C'},
      std::vector<uint8_t>(good.begin(), good.end() - 1),  // a field cut short
      [&] { auto b = good; b.push_back(0); return b; }(),  // trailing byte
      api::encode_reply(kNoContent),                       // a reply is not a command
  };
  for (const auto& message : bad) {
    auto reply = api::decode_reply(answer_control_message(message, vm));
    ASSERT_TRUE(reply.ok()) << reply.error().message();
    EXPECT_EQ(reply->status, 400);
    EXPECT_EQ(reply->body_kind, Reply::Body::kFault);
    EXPECT_EQ(reply->body.rfind("malformed command: ", 0), 0u) << reply->body;
  }
  EXPECT_EQ(vm.calls(), 0);
}

}  // namespace
}  // namespace bulwark::vmm

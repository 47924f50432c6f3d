// The monitor's end of the launcher's control channel (monitor/vmm/control_dispatch): one
// datagram in, one reply out, against a VM model that keeps a paused flag. Input: the whole
// datagram (what a compromised launcher, or bulwark-api through it, could make the monitor read).
// Checks: every reply decodes and fits a datagram; a message that does not decode, and any
// command that is not the monitor's, is a 400 fault that touched nothing; a monitor command
// makes exactly one call on the VM; pause/resume answers match the model's state.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>
#include <variant>

#include "api/command/command.h"
#include "monitor/vmm/control_dispatch.h"

namespace {

using namespace bulwark;

void check(bool ok) {
  if (!ok) std::abort();
}

class ModelVm final : public vmm::VmControls {
 public:
  vmm::PauseOutcome pause() override {
    ++calls;
    if (paused) return vmm::PauseOutcome::kAlreadyInState;
    paused = true;
    return vmm::PauseOutcome::kDone;
  }
  vmm::PauseOutcome resume() override {
    ++calls;
    if (!paused) return vmm::PauseOutcome::kAlreadyInState;
    paused = false;
    return vmm::PauseOutcome::kDone;
  }
  bool send_ctrl_alt_del() override {
    ++calls;
    return !paused;  // any answer will do; vary it with the state
  }
  std::string metrics_text() override {
    ++calls;
    return "bulwark_monitor_paused " + std::string(paused ? "1" : "0") + "\n";
  }
  void flush_metrics() override { ++calls; }
  // No fd comes with a fuzzed message: four devices, each failed as asked.
  vmm::ReplaceOutcome replace_device(size_t index, std::optional<UniqueFd> socket) override {
    ++calls;
    check(!socket.has_value());
    if (index >= 4) return {vmm::ReplaceOutcome::Kind::kNoSuchDevice, ""};
    return {vmm::ReplaceOutcome::Kind::kFailed, ""};
  }

  bool paused = false;
  int calls = 0;
};

bool is_monitor_command(const api::Command& command) {
  return std::holds_alternative<api::SetVmState>(command) || std::holds_alternative<api::SendCtrlAltDel>(command) ||
         std::holds_alternative<api::GetMetrics>(command) || std::holds_alternative<api::FlushMetrics>(command) ||
         std::holds_alternative<api::ReplaceDevice>(command);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> message(data, size);
  ModelVm vm;
  // Twice: the second time the model may be paused, so both pause answers are reached.
  for (int round = 0; round < 2; ++round) {
    const bool was_paused = vm.paused;
    const int calls_before = vm.calls;
    const std::vector<uint8_t> bytes = vmm::answer_control_message(message, vm);
    check(bytes.size() <= api::kMaxMessageBytes);
    auto reply = api::decode_reply(bytes);
    check(reply.ok());
    auto command = api::decode_command(message);
    if (!command.ok() || !is_monitor_command(*command)) {
      check(reply->status == 400 && reply->body_kind == api::Reply::Body::kFault);
      check(vm.calls == calls_before);
      continue;
    }
    check(vm.calls == calls_before + 1);
    if (const auto* state = std::get_if<api::SetVmState>(&*command)) {
      const bool changes = state->paused != was_paused;
      check(reply->status == (changes ? 204 : 400));
      check(vm.paused == state->paused);
    } else if (std::holds_alternative<api::GetMetrics>(*command)) {
      check(reply->status == 200 && reply->body_kind == api::Reply::Body::kPrometheus);
    } else if (const auto* replace = std::get_if<api::ReplaceDevice>(&*command)) {
      check(reply->status == (replace->device_index < 4 ? 204 : 404));
    } else if (std::holds_alternative<api::SendCtrlAltDel>(*command)) {
      check(reply->status == (was_paused ? 409 : 204));
    } else {
      check(reply->status == 204);
    }
  }
  return 0;
}

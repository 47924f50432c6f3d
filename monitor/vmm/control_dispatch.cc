#include "monitor/vmm/control_dispatch.h"

#include <type_traits>
#include <variant>

namespace bulwark::vmm {
namespace {

api::Reply fault(uint16_t status, std::string message) {
  return api::Reply{status, api::Reply::Body::kFault, std::move(message)};
}

api::Reply no_content() { return api::Reply{204, api::Reply::Body::kNone, ""}; }

api::Reply set_vm_state(const api::SetVmState& request, VmControls& vm) {
  const PauseOutcome outcome = request.paused ? vm.pause() : vm.resume();
  switch (outcome) {
    case PauseOutcome::kDone: return no_content();
    case PauseOutcome::kAlreadyInState: return fault(400, request.paused ? "already paused" : "already running");
    case PauseOutcome::kTimedOut:
      return fault(500, "the vCPUs did not stop in time; the VM keeps running");
    case PauseOutcome::kStopping: return fault(503, "the VM is shutting down");
  }
  return fault(500, "internal: unknown pause outcome");
}

}  // namespace

api::Reply dispatch_control_command(const api::Command& command, VmControls& vm) {
  return std::visit(
      [&vm](const auto& request) -> api::Reply {
        using T = std::decay_t<decltype(request)>;
        if constexpr (std::is_same_v<T, api::SetVmState>) {
          return set_vm_state(request, vm);
        } else if constexpr (std::is_same_v<T, api::SendCtrlAltDel>) {
          if (!vm.send_ctrl_alt_del()) return fault(409, "the guest has not enabled its keyboard");
          return no_content();
        } else if constexpr (std::is_same_v<T, api::GetMetrics>) {
          return api::Reply{200, api::Reply::Body::kPrometheus, vm.metrics_text()};
        } else if constexpr (std::is_same_v<T, api::FlushMetrics>) {
          vm.flush_metrics();
          return no_content();
        } else {
          return fault(400, "not a monitor command");
        }
      },
      command);
}

std::vector<uint8_t> answer_control_message(std::span<const uint8_t> message, VmControls& vm) {
  Result<api::Command> command = api::decode_command(message);
  if (!command.ok()) return api::encode_reply(fault(400, "malformed command: " + command.error().message()));
  return api::encode_reply(dispatch_control_command(*command, vm));
}

}  // namespace bulwark::vmm

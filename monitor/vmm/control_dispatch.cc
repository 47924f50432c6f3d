#include "monitor/vmm/control_dispatch.h"

#include <optional>
#include <string>
#include <type_traits>
#include <utility>
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

api::Reply replace_device(const api::ReplaceDevice& request, VmControls& vm, std::vector<UniqueFd> fds) {
  if (fds.size() > 1) return fault(400, "ReplaceDevice carries " + std::to_string(fds.size()) + " fds, at most 1");
  std::optional<UniqueFd> socket;
  if (!fds.empty()) socket = std::move(fds.front());
  const bool replacing = socket.has_value();
  const ReplaceOutcome outcome = vm.replace_device(static_cast<size_t>(request.device_index), std::move(socket));
  switch (outcome.kind) {
    case ReplaceOutcome::Kind::kReconnected:
    case ReplaceOutcome::Kind::kFailed: return no_content();
    case ReplaceOutcome::Kind::kNoSuchDevice:
      return fault(404, "no vhost-user device " + std::to_string(request.device_index));
    case ReplaceOutcome::Kind::kNotWaiting:
      return fault(409, "device " + std::to_string(request.device_index) + " is not waiting for a replacement: " +
                            outcome.detail);
    case ReplaceOutcome::Kind::kReconnectFailed:
      return fault(502, "device " + std::to_string(request.device_index) +
                            (replacing ? ": the replacement failed: " : ": ") + outcome.detail);
  }
  return fault(500, "internal: unknown replace outcome");
}

}  // namespace

api::Reply dispatch_control_command(const api::Command& command, VmControls& vm, std::vector<UniqueFd> fds) {
  if (!fds.empty() && !std::holds_alternative<api::ReplaceDevice>(command)) {
    return fault(400, std::string(api::command_name(command)) + " takes no file descriptor; " +
                          std::to_string(fds.size()) + " came with it");
  }
  return std::visit(
      [&vm, &fds](const auto& request) -> api::Reply {
        using T = std::decay_t<decltype(request)>;
        if constexpr (std::is_same_v<T, api::ReplaceDevice>) {
          return replace_device(request, vm, std::move(fds));
        } else if constexpr (std::is_same_v<T, api::SetVmState>) {
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

std::vector<uint8_t> answer_control_message(std::span<const uint8_t> message, VmControls& vm,
                                            std::vector<UniqueFd> fds) {
  Result<api::Command> command = api::decode_command(message);
  if (!command.ok()) return api::encode_reply(fault(400, "malformed command: " + command.error().message()));
  return api::encode_reply(dispatch_control_command(*command, vm, std::move(fds)));
}

}  // namespace bulwark::vmm

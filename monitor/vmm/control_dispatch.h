// Which of the launcher's control-channel commands the monitor serves and what each does to the
// running VM. Input: commands the launcher relays (from bulwark-api, which serves an API
// client); the bytes are decoded as hostile (api::decode_command) before anything here runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "api/command/command.h"
#include "bulwark/common/unique_fd.h"
#include "monitor/vmm/vcpu_pause.h"

namespace bulwark::vmm {

// What became of a ReplaceDevice (the launcher restarted, or gave up on, a device process).
struct ReplaceOutcome {
  enum class Kind {
    kReconnected,   // the fresh process took the device over
    kFailed,        // no socket: the device failed, as asked
    kNoSuchDevice,  // the index names no vhost-user device
    kNotWaiting,    // the device's process has not gone away, or the device failed already
    kReconnectFailed,  // the fresh process broke the handshake: the device failed
  };
  Kind kind;
  std::string detail;  // why, for the fault's message
};

// What the running VM offers the control channel; a fake stands in for it in tests.
class VmControls {
 public:
  virtual ~VmControls() = default;
  virtual PauseOutcome pause() = 0;
  virtual PauseOutcome resume() = 0;
  // false: the guest has not enabled its keyboard, so nothing was sent.
  virtual bool send_ctrl_alt_del() = 0;
  virtual std::string metrics_text() = 0;  // Prometheus text
  virtual void flush_metrics() = 0;        // the counters to the monitor's log
  // The device at `index` (the order of the config's devices) has a fresh process connected on
  // `socket`: reconnect to it; without a socket it will not be replaced: fail it.
  virtual ReplaceOutcome replace_device(size_t index, std::optional<UniqueFd> socket) = 0;
};

// SetVmState, SendCtrlAltDel, GetMetrics, FlushMetrics and ReplaceDevice; any other command is
// a 400 fault. `fds` came with the datagram: ReplaceDevice takes at most one (the fresh device
// process's socket), every other command none; a command with fds it does not take is refused
// (400) and they are closed.
api::Reply dispatch_control_command(const api::Command& command, VmControls& vm, std::vector<UniqueFd> fds = {});

// One datagram from the launcher (and the fds that came with it) to the reply datagram: decode
// (a malformed message is a 400 fault naming what is wrong), dispatch, encode.
std::vector<uint8_t> answer_control_message(std::span<const uint8_t> message, VmControls& vm,
                                            std::vector<UniqueFd> fds = {});

}  // namespace bulwark::vmm

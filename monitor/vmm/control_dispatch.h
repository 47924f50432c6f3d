// Which of the launcher's control-channel commands the monitor serves and what each does to the
// running VM. Input: commands the launcher relays (from bulwark-api, which serves an API
// client); the bytes are decoded as hostile (api::decode_command) before anything here runs.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "api/command/command.h"
#include "monitor/vmm/vcpu_pause.h"

namespace bulwark::vmm {

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
};

// SetVmState, SendCtrlAltDel, GetMetrics and FlushMetrics; any other command is a 400 fault.
api::Reply dispatch_control_command(const api::Command& command, VmControls& vm);

// One datagram from the launcher to the reply datagram: decode (a malformed message is a 400
// fault naming what is wrong), dispatch, encode.
std::vector<uint8_t> answer_control_message(std::span<const uint8_t> message, VmControls& vm);

}  // namespace bulwark::vmm

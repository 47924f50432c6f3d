// One VM from a validated config: KVM, guest RAM, legacy devices, the kernel loaded, vCPU
// threads running, and the main thread pumping console input and waiting for the end.
#pragma once

#include <chrono>
#include <memory>

#include "bulwark/common/result.h"
#include "monitor/config/vm_config.h"

namespace bulwark::vmm {

class VirtualMachine {
 public:
  // Builds everything up to the first KVM_RUN. On failure `exit_code` says which kind
  // (exit_codes.h) and the error says why; nothing has run.
  // `process_start` anchors the timing lines logged at debug level (first KVM_RUN, first
  // serial byte).
  static Result<std::unique_ptr<VirtualMachine>> create(const config::VmConfig& config, int& exit_code,
                                                        std::chrono::steady_clock::time_point process_start);
  virtual ~VirtualMachine() = default;
  // Runs until the guest resets, fails, or SIGTERM/SIGINT arrives; returns the exit code.
  // SIGTERM and SIGINT must be blocked in every thread before create() (see block_stop_signals).
  virtual int run() = 0;
};

// Blocks SIGTERM/SIGINT in the calling thread (and every thread it starts afterwards), so the
// VM's main loop receives them through a signalfd.
void block_stop_signals();

}  // namespace bulwark::vmm

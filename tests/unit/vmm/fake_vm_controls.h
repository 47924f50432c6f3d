// A VmControls that records what the control channel asked of the VM.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>

#include "monitor/vmm/control_dispatch.h"

namespace bulwark::vmm {

class FakeVmControls final : public VmControls {
 public:
  PauseOutcome pause() override {
    ++pauses;
    return pause_outcome;
  }
  PauseOutcome resume() override {
    ++resumes;
    return resume_outcome;
  }
  bool send_ctrl_alt_del() override {
    ++ctrl_alt_dels;
    return keyboard_enabled;
  }
  std::string metrics_text() override {
    ++metrics_reads;
    return metrics;
  }
  void flush_metrics() override { ++flushes; }
  ReplaceOutcome replace_device(size_t index, std::optional<UniqueFd> socket) override {
    ++replaces;
    replaced_index = index;
    replaced_with_socket = socket.has_value();
    replaced_socket = socket ? std::move(*socket) : UniqueFd();
    return replace_outcome;
  }

  PauseOutcome pause_outcome = PauseOutcome::kDone;
  PauseOutcome resume_outcome = PauseOutcome::kDone;
  bool keyboard_enabled = true;
  std::string metrics = "bulwark_monitor_vcpus 1\n";
  ReplaceOutcome replace_outcome{ReplaceOutcome::Kind::kReconnected, ""};
  size_t replaced_index = 0;
  bool replaced_with_socket = false;
  UniqueFd replaced_socket;  // kept so a test can check it is the one sent
  int pauses = 0, resumes = 0, ctrl_alt_dels = 0, metrics_reads = 0, flushes = 0, replaces = 0;
  int calls() const { return pauses + resumes + ctrl_alt_dels + metrics_reads + flushes + replaces; }
};

}  // namespace bulwark::vmm

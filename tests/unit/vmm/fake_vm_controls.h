// A VmControls that records what the control channel asked of the VM.
#pragma once

#include <string>

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

  PauseOutcome pause_outcome = PauseOutcome::kDone;
  PauseOutcome resume_outcome = PauseOutcome::kDone;
  bool keyboard_enabled = true;
  std::string metrics = "bulwark_monitor_vcpus 1\n";
  int pauses = 0, resumes = 0, ctrl_alt_dels = 0, metrics_reads = 0, flushes = 0;
  int calls() const { return pauses + resumes + ctrl_alt_dels + metrics_reads + flushes; }
};

}  // namespace bulwark::vmm

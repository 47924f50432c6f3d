// The host end of the guest's serial console: where transmitted bytes go (stdout, a file, or
// nowhere). Writes block: a guest that floods the UART is slowed to the console's pace instead
// of growing a buffer in the monitor.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "monitor/config/vm_config.h"

namespace bulwark::vmm {

class ConsoleOutput {
 public:
  static Result<ConsoleOutput> open(config::SerialOutput kind, const std::string& path);
  ConsoleOutput(ConsoleOutput&&) = default;

  void write_byte(uint8_t byte);
  uint64_t bytes_written() const { return bytes_written_; }
  // Monotonic time of the first byte, or zero when none was written yet.
  std::chrono::steady_clock::time_point first_byte_time() const { return first_byte_; }

 private:
  explicit ConsoleOutput(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;  // invalid: output discarded
  uint64_t bytes_written_ = 0;
  bool broken_ = false;
  std::chrono::steady_clock::time_point first_byte_{};
};

}  // namespace bulwark::vmm

// The guest's TPM: the CRB register file and command/response buffer of locality 0
// (crb_regs.h), as a plain state machine. No I/O in here: CTRL_START copies the command out
// (take_command), the monitor forwards it to swtpm outside the device lock, and hands the
// answer back (complete) or gives up on the engine (fail). Every guest access is checked
// (offset+length inside the region, widths 1/2/4/8); a command's length comes from its own
// header and must fit the buffer. A guest that gets anything wrong gets an error response or
// a register write ignored and counted, never more.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "monitor/pci/mmio_device.h"
#include "monitor/tpm/crb_regs.h"

namespace bulwark::tpm {

class CrbDevice final : public pci::MmioDevice {
 public:
  CrbDevice() = default;

  void mmio_read(uint64_t offset, std::span<uint8_t> data) override;
  void mmio_write(uint64_t offset, std::span<const uint8_t> data) override;

  // True while a started command waits to be taken (readable without the device lock: the
  // after-access hook looks at it after every exit).
  bool command_waiting() const { return waiting_.load(std::memory_order_acquire); }
  // The started command (once); the device stays busy (CTRL_START reads 1) until complete()
  // or fail().
  std::optional<std::vector<uint8_t>> take_command();
  // The engine's answer to the taken command: a whole response whose header was checked
  // (swtpm_response.h) and that fits the buffer; anything else fails the device.
  void complete(std::span<const uint8_t> response);
  // The engine is gone: the command in flight and every later one get TPM_RC_FAILURE and
  // CTRL_STS reports a fatal error.
  void fail();

  bool failed() const { return failed_; }
  bool busy() const { return busy_; }
  bool locality_assigned() const { return assigned_; }
  // Guest accesses refused (bad width or offset, writes to read-only registers, commands of an
  // impossible size, commands without the locality): for the log and the tests.
  uint64_t guest_errors() const { return guest_errors_; }

 private:
  uint8_t register_byte(uint64_t offset) const;
  void write_register(uint64_t offset, uint32_t value);
  void start();
  void answer_with_code(uint32_t code);

  std::array<uint8_t, kDataBufferSize> buffer_{};
  bool assigned_ = false;
  bool idle_ = true;
  bool busy_ = false;
  bool failed_ = false;
  uint32_t cancel_ = 0;
  uint32_t int_enable_ = 0;
  std::optional<std::vector<uint8_t>> pending_;
  std::atomic<bool> waiting_{false};
  uint64_t guest_errors_ = 0;
};

}  // namespace bulwark::tpm

#include "monitor/legacy/uart16550.h"

#include <utility>

#include "monitor/legacy/register_access.h"

namespace bulwark::legacy {

namespace {

constexpr uint8_t kIerWritableBits = 0x0f;  // bits 7..4 read as 0 on a 16550A
constexpr uint8_t kMcrWritableBits = 0x1f;
constexpr uint8_t kMsrDeltaCts = 0x01;
constexpr uint8_t kMsrDeltaDsr = 0x02;
constexpr uint8_t kMsrTrailingEdgeRi = 0x04;
constexpr uint8_t kMsrDeltaDcd = 0x08;
// DCD, DSR and CTS asserted: the host console behaves as a terminal that is always ready.
constexpr uint8_t kAttachedTerminalInputs = Uart16550::kMsrDcd | Uart16550::kMsrDsr | Uart16550::kMsrCts;

}  // namespace

Uart16550::Uart16550(IrqLine irq, std::function<void(uint8_t)> output)
    : irq_(std::move(irq)), output_(std::move(output)) {}

void Uart16550::port_read(uint16_t offset, std::span<uint8_t> data) {
  if (data.empty()) return;
  fill_byte_read(data, read_register(offset));
  update_irq();
}

void Uart16550::port_write(uint16_t offset, std::span<const uint8_t> data) {
  if (data.empty()) return;
  write_register(offset, data[0]);
  update_irq();
}

bool Uart16550::receive_byte(uint8_t byte) {
  if (loopback()) return false;
  bool accepted = rx_push(byte);
  update_irq();
  return accepted;
}

size_t Uart16550::rx_free() const { return loopback() ? 0 : rx_capacity() - rx_count_; }

std::optional<UartInterrupt> Uart16550::pending_interrupt() const {
  if ((ier_ & kIerLineStatus) && lsr_errors_ != 0) return UartInterrupt::kLineStatus;
  if ((ier_ & kIerReceivedData) && rx_count_ > 0) return UartInterrupt::kReceivedData;
  if ((ier_ & kIerTransmitterEmpty) && thre_pending_) return UartInterrupt::kTransmitterEmpty;
  if ((ier_ & kIerModemStatus) && msr_deltas_ != 0) return UartInterrupt::kModemStatus;
  return std::nullopt;
}

uint8_t Uart16550::read_register(uint16_t offset) {
  const bool dlab = (lcr_ & kLcrDlab) != 0;
  switch (offset) {
    case kRbrThrDll:
      if (dlab) return dll_;
      if (rx_count_ > 0) last_rbr_ = rx_pop();
      return last_rbr_;
    case kIerDlm:
      return dlab ? dlm_ : ier_;
    case kIirFcr:
      return read_iir();
    case kLcr:
      return lcr_;
    case kMcr:
      return mcr_;
    case kLsr:
      return read_lsr();
    case kMsr:
      return read_msr();
    case kScr:
      return scr_;
    default:
      return kFloatingBus;
  }
}

void Uart16550::write_register(uint16_t offset, uint8_t value) {
  const bool dlab = (lcr_ & kLcrDlab) != 0;
  switch (offset) {
    case kRbrThrDll:
      if (dlab) {
        dll_ = value;
      } else {
        transmit(value);
      }
      break;
    case kIerDlm:
      if (dlab) {
        dlm_ = value;
      } else {
        write_ier(value);
      }
      break;
    case kIirFcr:
      write_fcr(value);
      break;
    case kLcr:
      lcr_ = value;
      break;
    case kMcr:
      write_mcr(value);
      break;
    case kScr:
      scr_ = value;
      break;
    default:
      break;  // LSR and MSR are read-only; offsets past the UART decode nothing
  }
}

void Uart16550::write_ier(uint8_t value) {
  const uint8_t old = ier_;
  ier_ = value & kIerWritableBits;
  // Enabling THRE interrupts while THR is empty (always, here) raises one at once; Linux's
  // 8250 driver relies on this to kick off transmission and to detect a working UART.
  // Disabling them drops any pending one.
  if ((ier_ ^ old) & kIerTransmitterEmpty) thre_pending_ = (ier_ & kIerTransmitterEmpty) != 0;
}

void Uart16550::write_fcr(uint8_t value) {
  const bool was_enabled = fifo_enabled();
  const bool enable = (value & kFcrEnableFifo) != 0;
  // Switching FIFO mode resets the FIFOs; the other bits only take effect with bit 0 set.
  if (enable != was_enabled || (enable && (value & kFcrClearRx))) rx_clear();
  fcr_ = enable ? static_cast<uint8_t>(value & ~(kFcrClearRx | kFcrClearTx)) : 0;
}

void Uart16550::write_mcr(uint8_t value) {
  const uint8_t before = modem_inputs();
  mcr_ = value & kMcrWritableBits;
  const uint8_t after = modem_inputs();
  const uint8_t changed = before ^ after;
  if (changed & kMsrCts) msr_deltas_ |= kMsrDeltaCts;
  if (changed & kMsrDsr) msr_deltas_ |= kMsrDeltaDsr;
  if ((before & kMsrRi) && !(after & kMsrRi)) msr_deltas_ |= kMsrTrailingEdgeRi;
  if (changed & kMsrDcd) msr_deltas_ |= kMsrDeltaDcd;
}

void Uart16550::transmit(uint8_t byte) {
  // Writing THR acknowledges a THRE interrupt: as on real hardware the line drops here
  // (unless another source is pending) and rises again below once THR is empty. That fresh
  // edge matters to an edge-triggered PIC/IOAPIC input: Linux's 8250 handler may leave with
  // THRE still pending (its "too much work" bail-out), and only a new edge brings it back.
  thre_pending_ = false;
  update_irq();
  if (loopback()) {
    if (!rx_push(byte)) {
      lsr_errors_ |= kLsrOverrun;
      ++counters_.bytes_dropped_overrun;
    }
  } else {
    ++counters_.bytes_transmitted;
    if (output_) output_(byte);
  }
  // The byte left at once, so THR is empty again: THRE is raised again when enabled. This is
  // what keeps the guest's TX path moving.
  thre_pending_ = (ier_ & kIerTransmitterEmpty) != 0;
}

uint8_t Uart16550::read_iir() {
  const uint8_t fifo_bits = fifo_enabled() ? kIirFifosEnabled : 0;
  const std::optional<UartInterrupt> source = pending_interrupt();
  if (!source) return fifo_bits | kIirNoInterrupt;
  // Reading IIR acknowledges a THRE interrupt, and only when it is the one reported.
  if (*source == UartInterrupt::kTransmitterEmpty) thre_pending_ = false;
  return fifo_bits | static_cast<uint8_t>(*source);
}

uint8_t Uart16550::read_lsr() {
  uint8_t value = kLsrThrEmpty | kLsrTransmitterEmpty | lsr_errors_;
  if (rx_count_ > 0) value |= kLsrDataReady;
  lsr_errors_ = 0;
  return value;
}

uint8_t Uart16550::read_msr() {
  const uint8_t value = modem_inputs() | msr_deltas_;
  msr_deltas_ = 0;
  return value;
}

uint8_t Uart16550::modem_inputs() const {
  if (!loopback()) return kAttachedTerminalInputs;
  // Loopback wires DTR->DSR, RTS->CTS, OUT1->RI and OUT2->DCD.
  uint8_t inputs = 0;
  if (mcr_ & kMcrDtr) inputs |= kMsrDsr;
  if (mcr_ & kMcrRts) inputs |= kMsrCts;
  if (mcr_ & kMcrOut1) inputs |= kMsrRi;
  if (mcr_ & kMcrOut2) inputs |= kMsrDcd;
  return inputs;
}

bool Uart16550::rx_push(uint8_t byte) {
  if (rx_count_ >= rx_capacity()) return false;
  rx_fifo_[(rx_head_ + rx_count_) % kFifoSize] = byte;
  ++rx_count_;
  return true;
}

uint8_t Uart16550::rx_pop() {
  const uint8_t byte = rx_fifo_[rx_head_];
  rx_head_ = (rx_head_ + 1) % kFifoSize;
  --rx_count_;
  return byte;
}

void Uart16550::rx_clear() {
  counters_.bytes_flushed_by_guest += rx_count_;
  rx_head_ = 0;
  rx_count_ = 0;
}

void Uart16550::update_irq() {
  const bool level = pending_interrupt().has_value() && (mcr_ & kMcrOut2) != 0;
  if (level == irq_level_) return;
  irq_level_ = level;
  if (irq_) irq_(level);
}

}  // namespace bulwark::legacy

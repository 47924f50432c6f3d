// A 16550A UART (the PC's COM1: base port 0x3f8, ISA IRQ 4) as a pure state machine.
//
// Transmit is instantaneous: a byte written to THR goes straight to the output sink and THR
// is empty again at once, so THRE and TEMT always read as set. The sink may block; that is
// the back-pressure that keeps a flooding guest's memory bounded, which is why this model
// never queues transmitted bytes itself. Receive goes through a 16-byte FIFO (1 byte while
// FIFOs are disabled, as on a 16450); the host offers bytes with receive_byte(), which
// refuses rather than drops when there is no room, so host input is never lost.
//
// Interrupt sources in 16550 priority order: receiver line status (overrun, IER bit 2),
// received data available (RX FIFO non-empty, IER bit 0; the FIFO trigger level is stored
// but not modelled: data is reported as soon as one byte is there, and the character
// timeout ID is never used), THR empty (IER bit 1) and modem status (IER bit 3). The IRQ
// line is raised only while MCR OUT2 is set, as a PC's interrupt gate does. In loopback
// mode the internal OUT2 bit still gates the line (real PCs force the OUT2 pin inactive in
// loopback), so a guest that exercises loopback through interrupts does not stall.
//
// Registers are one byte; see register_access.h for wider accesses. Offsets 8 and above
// read 0xff and ignore writes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>

#include "monitor/legacy/port_io_device.h"

namespace bulwark::legacy {

struct UartCounters {
  uint64_t bytes_transmitted = 0;      // handed to the output sink
  uint64_t bytes_dropped_overrun = 0;  // loopback bytes that met a full RX FIFO
  uint64_t bytes_flushed_by_guest = 0;  // received bytes the guest discarded via FCR
};

// IIR interrupt identification values (bits 3..0), highest priority first.
enum class UartInterrupt : uint8_t {
  kLineStatus = 0x06,
  kReceivedData = 0x04,
  kTransmitterEmpty = 0x02,
  kModemStatus = 0x00,
};

class Uart16550 final : public PortIoDevice {
 public:
  static constexpr uint16_t kCom1Base = 0x3f8;
  static constexpr uint16_t kPortCount = 8;
  static constexpr uint8_t kCom1Irq = 4;
  static constexpr size_t kFifoSize = 16;

  // Register offsets from the base port.
  static constexpr uint16_t kRbrThrDll = 0;
  static constexpr uint16_t kIerDlm = 1;
  static constexpr uint16_t kIirFcr = 2;
  static constexpr uint16_t kLcr = 3;
  static constexpr uint16_t kMcr = 4;
  static constexpr uint16_t kLsr = 5;
  static constexpr uint16_t kMsr = 6;
  static constexpr uint16_t kScr = 7;

  // Register bits a guest driver uses.
  static constexpr uint8_t kIerReceivedData = 0x01;
  static constexpr uint8_t kIerTransmitterEmpty = 0x02;
  static constexpr uint8_t kIerLineStatus = 0x04;
  static constexpr uint8_t kIerModemStatus = 0x08;
  static constexpr uint8_t kIirNoInterrupt = 0x01;
  static constexpr uint8_t kIirFifosEnabled = 0xc0;
  static constexpr uint8_t kFcrEnableFifo = 0x01;
  static constexpr uint8_t kFcrClearRx = 0x02;
  static constexpr uint8_t kFcrClearTx = 0x04;
  static constexpr uint8_t kLcrDlab = 0x80;
  static constexpr uint8_t kMcrDtr = 0x01;
  static constexpr uint8_t kMcrRts = 0x02;
  static constexpr uint8_t kMcrOut1 = 0x04;
  static constexpr uint8_t kMcrOut2 = 0x08;
  static constexpr uint8_t kMcrLoop = 0x10;
  static constexpr uint8_t kLsrDataReady = 0x01;
  static constexpr uint8_t kLsrOverrun = 0x02;
  static constexpr uint8_t kLsrThrEmpty = 0x20;
  static constexpr uint8_t kLsrTransmitterEmpty = 0x40;
  static constexpr uint8_t kMsrCts = 0x10;
  static constexpr uint8_t kMsrDsr = 0x20;
  static constexpr uint8_t kMsrRi = 0x40;
  static constexpr uint8_t kMsrDcd = 0x80;

  // `irq` is called only when the line level changes (it starts low). `output` receives
  // every byte the guest transmits outside loopback mode. Either may be empty (ignored).
  Uart16550(IrqLine irq, std::function<void(uint8_t)> output);

  void port_read(uint16_t offset, std::span<uint8_t> data) override;
  void port_write(uint16_t offset, std::span<const uint8_t> data) override;

  // Host side: offers one received byte. False when the RX FIFO has no room or the UART is
  // in loopback mode (its receiver is then disconnected from the line); the caller keeps
  // the byte and offers it again later.
  bool receive_byte(uint8_t byte);
  // Bytes receive_byte() would accept now (0 in loopback mode).
  size_t rx_free() const;

  const UartCounters& counters() const { return counters_; }

  // Read-only views for the monitor's diagnostics and the fuzz target's invariant checks;
  // none of them has a side effect on the device.
  bool irq_level() const { return irq_level_; }
  size_t rx_count() const { return rx_count_; }
  std::optional<UartInterrupt> pending_interrupt() const;

 private:
  uint8_t read_register(uint16_t offset);
  void write_register(uint16_t offset, uint8_t value);

  void write_ier(uint8_t value);
  void write_fcr(uint8_t value);
  void write_mcr(uint8_t value);
  void transmit(uint8_t byte);
  uint8_t read_iir();
  uint8_t read_lsr();
  uint8_t read_msr();

  size_t rx_capacity() const { return fifo_enabled() ? kFifoSize : 1; }
  bool fifo_enabled() const { return (fcr_ & kFcrEnableFifo) != 0; }
  bool loopback() const { return (mcr_ & kMcrLoop) != 0; }
  // The modem input lines as MSR bits 7..4: from MCR in loopback, else a ready terminal.
  uint8_t modem_inputs() const;
  bool rx_push(uint8_t byte);
  uint8_t rx_pop();
  void rx_clear();
  void update_irq();

  IrqLine irq_;
  std::function<void(uint8_t)> output_;

  std::array<uint8_t, kFifoSize> rx_fifo_{};
  size_t rx_head_ = 0;   // index of the oldest byte
  size_t rx_count_ = 0;  // never above rx_capacity()

  uint8_t ier_ = 0;
  uint8_t fcr_ = 0;      // enable and trigger bits as last written
  uint8_t lcr_ = 0;
  uint8_t mcr_ = 0;
  uint8_t lsr_errors_ = 0;  // latched LSR error bits, cleared by reading LSR
  uint8_t msr_deltas_ = 0;  // MSR bits 3..0, cleared by reading MSR
  uint8_t scr_ = 0;
  uint8_t dll_ = 0x0c;   // divisor 12: 9600 baud
  uint8_t dlm_ = 0;
  uint8_t last_rbr_ = 0;  // RBR keeps its last value when read empty
  bool thre_pending_ = false;
  bool irq_level_ = false;
  UartCounters counters_;
};

}  // namespace bulwark::legacy

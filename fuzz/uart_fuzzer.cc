// Drives the 16550A model with a hostile guest's register accesses interleaved with host
// input, and checks every guest-visible result against an independent reference model of
// the 16550A rules (IIR priority, THRE acknowledge, FIFO order and bounds, loopback, OUT2
// gating). Any divergence aborts.
//
// Input format, repeated until the bytes run out:
//   op byte: bits 1..0 = kind; for reads and writes bits 5..2 = port offset (0..15, 8..15
//   decode nothing) and bits 7..6 select the access size (1, 1, 2, 4 bytes).
//     kind 0: guest read
//     kind 1: guest write of the next byte (wider writes repeat it inverted)
//     kind 2: host receive_byte(next byte)
//     kind 3: host offers (op >> 2) + 1 bytes in a burst
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <vector>

#include "monitor/legacy/uart16550.h"

namespace {

using bulwark::legacy::Uart16550;
using U = Uart16550;

[[noreturn]] void fail(const char* what, unsigned expected, unsigned actual) {
  std::fprintf(stderr, "uart invariant broken: %s (expected 0x%x, got 0x%x)\n", what, expected, actual);
  std::abort();
}

void check(bool ok, const char* what) {
  if (!ok) fail(what, 1, 0);
}

void check_eq(unsigned expected, unsigned actual, const char* what) {
  if (expected != actual) fail(what, expected, actual);
}

// The 16550A as the datasheet (and Linux's 8250 driver) describes it, written for clarity
// rather than economy, to cross-check the device model.
struct ReferenceUart {
  uint8_t ier = 0, lcr = 0, mcr = 0, scr = 0, dll = 0x0c, dlm = 0;
  bool fifo = false;
  bool thre = false;
  bool overrun = false;
  uint8_t deltas = 0;
  uint8_t last_rbr = 0;
  std::deque<uint8_t> rx;
  std::vector<uint8_t> sent;

  bool dlab() const { return lcr & 0x80; }
  bool loop() const { return mcr & 0x10; }
  size_t capacity() const { return fifo ? 16 : 1; }
  uint8_t inputs() const {
    if (!loop()) return 0xb0;
    return static_cast<uint8_t>(((mcr & 1) << 5) | ((mcr & 2) << 3) | ((mcr & 4) << 4) | ((mcr & 8) << 4));
  }
  // Interrupt ID for IIR bits 3..0, or 1 for none.
  uint8_t source() const {
    if ((ier & 4) && overrun) return 0x06;
    if ((ier & 1) && !rx.empty()) return 0x04;
    if ((ier & 2) && thre) return 0x02;
    if ((ier & 8) && deltas) return 0x00;
    return 0x01;
  }
  bool irq() const { return source() != 0x01 && (mcr & 0x08); }

  uint8_t read(uint16_t offset) {
    switch (offset) {
      case 0:
        if (dlab()) return dll;
        if (!rx.empty()) {
          last_rbr = rx.front();
          rx.pop_front();
        }
        return last_rbr;
      case 1:
        return dlab() ? dlm : ier;
      case 2: {
        const uint8_t id = source();
        if (id == 0x02) thre = false;
        return static_cast<uint8_t>((fifo ? 0xc0 : 0) | id);
      }
      case 3:
        return lcr;
      case 4:
        return mcr;
      case 5: {
        const uint8_t v = static_cast<uint8_t>(0x60 | (overrun ? 2 : 0) | (rx.empty() ? 0 : 1));
        overrun = false;
        return v;
      }
      case 6: {
        const uint8_t v = inputs() | deltas;
        deltas = 0;
        return v;
      }
      case 7:
        return scr;
      default:
        return 0xff;
    }
  }

  void write(uint16_t offset, uint8_t v) {
    switch (offset) {
      case 0:
        if (dlab()) {
          dll = v;
        } else {
          if (loop()) {
            if (rx.size() < capacity()) {
              rx.push_back(v);
            } else {
              overrun = true;
            }
          } else {
            sent.push_back(v);
          }
          thre = ier & 2;
        }
        break;
      case 1:
        if (dlab()) {
          dlm = v;
        } else {
          const bool was = ier & 2;
          ier = v & 0x0f;
          if (was != bool(ier & 2)) thre = ier & 2;
        }
        break;
      case 2: {
        const bool on = v & 1;
        if (on != fifo || (on && (v & 2))) rx.clear();
        fifo = on;
        break;
      }
      case 3:
        lcr = v;
        break;
      case 4: {
        const uint8_t before = inputs();
        mcr = v & 0x1f;
        const uint8_t after = inputs();
        if ((before ^ after) & 0x10) deltas |= 1;
        if ((before ^ after) & 0x20) deltas |= 2;
        if ((before & 0x40) && !(after & 0x40)) deltas |= 4;
        if ((before ^ after) & 0x80) deltas |= 8;
        break;
      }
      case 7:
        scr = v;
        break;
      default:
        break;
    }
  }

  bool receive(uint8_t v) {
    if (loop() || rx.size() >= capacity()) return false;
    rx.push_back(v);
    return true;
  }
};

struct Harness {
  bool line = false;
  size_t irq_calls = 0;
  std::vector<uint8_t> sink;
  ReferenceUart ref;
  Uart16550 uart{[this](bool level) {
                   check(level != line, "irq callback without a level change");
                   line = level;
                   ++irq_calls;
                 },
                 [this](uint8_t byte) { sink.push_back(byte); }};

  void check_state() {
    check_eq(ref.irq(), line, "irq line vs reference");
    check_eq(line, uart.irq_level(), "irq line vs device view");
    check(uart.rx_count() <= U::kFifoSize, "rx fifo above 16");
    check_eq(static_cast<unsigned>(ref.rx.size()), static_cast<unsigned>(uart.rx_count()), "rx count");
    check_eq(static_cast<unsigned>(ref.loop() ? 0 : ref.capacity() - ref.rx.size()),
             static_cast<unsigned>(uart.rx_free()), "rx_free");
    check_eq(static_cast<unsigned>(ref.sent.size()), static_cast<unsigned>(sink.size()), "bytes sent");
    check(ref.sent == sink, "sink contents");
    check_eq(static_cast<unsigned>(sink.size()), static_cast<unsigned>(uart.counters().bytes_transmitted),
             "tx counter");
  }

  void step_access(uint8_t op, bool is_write, uint8_t value) {
    static constexpr size_t kSizes[] = {1, 1, 2, 4};
    const uint16_t offset = (op >> 2) & 0x0f;
    const size_t size = kSizes[op >> 6];
    if (is_write) {
      uint8_t data[4] = {value, static_cast<uint8_t>(~value), value, static_cast<uint8_t>(~value)};
      uart.port_write(offset, std::span<const uint8_t>(data, size));
      ref.write(offset, value);
      return;
    }
    uint8_t data[4] = {0, 0, 0, 0};
    uart.port_read(offset, std::span<uint8_t>(data, size));
    check_eq(ref.read(offset), data[0], "register read");
    for (size_t i = 1; i < size; ++i) check_eq(0xff, data[i], "wide read filler");
  }

  void step_receive(uint8_t value) {
    const bool expected = ref.receive(value);
    check_eq(expected, uart.receive_byte(value), "receive_byte result");
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Harness h;
  size_t i = 0;
  auto next = [&]() -> uint8_t { return i < size ? data[i++] : 0; };
  while (i < size) {
    const uint8_t op = next();
    switch (op & 3) {
      case 0:
        h.step_access(op, false, 0);
        break;
      case 1:
        h.step_access(op, true, next());
        break;
      case 2:
        h.step_receive(next());
        break;
      default:
        for (unsigned n = 0; n <= (op >> 2); ++n) h.step_receive(static_cast<uint8_t>(n));
        break;
    }
    h.check_state();
  }
  return 0;
}

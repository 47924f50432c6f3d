// Drives the i8042 model and its PS/2 keyboard with a hostile guest's port accesses and the
// monitor's Ctrl-Alt-Del injections, and checks what a guest driver relies on after every
// step: IBF never set, OBF and the IRQ lines agree with the command byte, IRQ callbacks only
// on level changes, a read empties the output buffer unless the keyboard had another byte
// waiting (which then arrives with a new IRQ 1 edge), keyboard bytes never wait while the
// buffer is empty and the port enabled, the keyboard's buffer stays bounded, every byte sent
// to the keyboard is answered while it has room, injections succeed exactly when the
// keyboard scans and has room, and a reset is requested exactly when the guest pulses the
// reset line or writes the output port with bit 0 clear.
//
// Input format, repeated until the bytes run out:
//   op byte: bits 7..6 = 3 is "the monitor injects Ctrl-Alt-Del". Otherwise bit 0 = write
//   (else read); bits 3..1 = port offset (0..7; 0 is data, 4 is status/command, the rest
//   decode nothing); bits 5..4 select the size (1, 1, 2, 4 bytes). A write takes the next
//   byte as its value.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "monitor/legacy/i8042.h"

namespace {

using bulwark::legacy::I8042;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "i8042 invariant broken: %s\n", what);
    std::abort();
  }
}

using bulwark::legacy::Ps2Keyboard;

// The largest reply the keyboard queues for one byte (0xf2: ACK and two ID bytes).
constexpr size_t kLargestReply = 3;

struct Harness {
  uint64_t resets = 0;
  uint64_t kbd_rises = 0;
  bool kbd_line = false;
  bool aux_line = false;
  // The guest-visible protocol state the checks need: whether the next data byte is the
  // parameter of 0xd1 (write output port), or of any controller command (else it is for
  // the keyboard).
  bool output_port_pending = false;
  bool parameter_pending = false;
  I8042 kbc{[this] { ++resets; },
            [this](bool level) {
              check(level != kbd_line, "keyboard irq callback without a change");
              kbd_line = level;
              if (level) ++kbd_rises;
            },
            [this](bool level) {
              check(level != aux_line, "aux irq callback without a change");
              aux_line = level;
            }};

  bool keyboard_port_enabled() const { return !(kbc.command_byte() & I8042::kCtrKeyboardDisabled); }

  void inject() {
    const bool scanning = kbc.keyboard().scanning();
    const size_t queued_before = kbc.keyboard().queued();
    const uint8_t status_before = kbc.status();
    const bool ok = kbc.inject_ctrl_alt_del();
    if (!scanning) check(!ok, "keys injected while the keyboard does not scan");
    // Ctrl-Alt-Del is 8 to 11 bytes in any scancode set.
    if (scanning && queued_before + 11 <= Ps2Keyboard::kQueueCapacity) check(ok, "injection refused with room");
    if (!ok) {
      check(kbc.keyboard().queued() == queued_before && kbc.status() == status_before, "refused injection changed state");
    } else {
      const bool now_full = (kbc.status() & I8042::kStatusOutputFull) && !(status_before & I8042::kStatusOutputFull);
      check(kbc.keyboard().queued() + (now_full ? 1 : 0) > queued_before, "injection queued nothing");
    }
  }

  void step(uint8_t op, uint8_t value) {
    if ((op >> 6) == 3) {
      inject();
      return;
    }
    static constexpr size_t kSizes[] = {1, 1, 2, 4};
    const bool is_write = op & 1;
    const uint16_t offset = (op >> 1) & 7;
    const size_t size = kSizes[(op >> 4) & 3];
    const uint64_t resets_before = resets;
    bool expect_reset = false;
    if (is_write) {
      bool to_keyboard = false;
      if (offset == I8042::kStatusCommandOffset) {
        expect_reset = value >= 0xf0 && !(value & 1);
        output_port_pending = value == 0xd1;
        parameter_pending = (value >= 0x60 && value <= 0x7f) || (value >= 0xd1 && value <= 0xd4);
      } else if (offset == I8042::kDataOffset) {
        expect_reset = output_port_pending && !(value & 1);
        to_keyboard = !parameter_pending;
        output_port_pending = false;
        parameter_pending = false;
      }
      const size_t room_before = Ps2Keyboard::kQueueCapacity - kbc.keyboard().queued();
      uint8_t data[4] = {value, value, value, value};
      kbc.port_write(offset, std::span<const uint8_t>(data, size));
      if (offset == I8042::kDataOffset || offset == I8042::kStatusCommandOffset) {
        check(((kbc.status() & I8042::kStatusLastWasCommand) != 0) == (offset == I8042::kStatusCommandOffset),
              "command/data status bit");
      }
      if (to_keyboard && room_before >= kLargestReply) {
        check(kbc.keyboard().queued() > 0 || (kbc.status() & I8042::kStatusOutputFull), "keyboard byte unanswered");
      }
    } else {
      const uint8_t status_before = kbc.status();
      const size_t queued_before = kbc.keyboard().queued();
      const uint64_t rises_before = kbd_rises;
      uint8_t data[4] = {0, 0, 0, 0};
      kbc.port_read(offset, std::span<uint8_t>(data, size));
      for (size_t i = 1; i < size; ++i) check(data[i] == 0xff, "wide read filler");
      if (offset == I8042::kStatusCommandOffset) check(data[0] == status_before, "status read is pure");
      if (offset == I8042::kDataOffset) {
        const uint8_t status = kbc.status();
        const bool refilled = status & I8042::kStatusOutputFull;
        check(!refilled || (queued_before > 0 && keyboard_port_enabled()), "data read empties OBF");
        check(!refilled || !(status & (I8042::kStatusAuxData | I8042::kStatusTimeout)), "refill is a keyboard byte");
        if (refilled && (kbc.command_byte() & I8042::kCtrKeyboardInterrupt)) {
          check(kbd_rises == rises_before + 1, "keyboard byte without its own IRQ 1 edge");
        }
      }
      if (offset != I8042::kDataOffset && offset != I8042::kStatusCommandOffset) check(data[0] == 0xff, "unused port");
    }
    check(resets == resets_before + (expect_reset ? 1 : 0), "reset requested exactly when pulsed");
    check(resets == kbc.resets_requested(), "reset counter");
  }

  void check_state() {
    const uint8_t status = kbc.status();
    const uint8_t ctr = kbc.command_byte();
    const bool full = status & I8042::kStatusOutputFull;
    const bool aux = status & I8042::kStatusAuxData;
    check(!(status & I8042::kStatusInputFull), "IBF never set");
    check(full || !(status & (I8042::kStatusAuxData | I8042::kStatusTimeout)), "data bits without OBF");
    check(((status & I8042::kStatusSystemFlag) != 0) == ((ctr & I8042::kCtrSystemFlag) != 0), "system flag");
    check(kbd_line == (full && !aux && (ctr & I8042::kCtrKeyboardInterrupt)), "keyboard irq level");
    check(aux_line == (full && aux && (ctr & I8042::kCtrAuxInterrupt)), "aux irq level");
    check(kbd_line == kbc.keyboard_irq_level() && aux_line == kbc.aux_irq_level(), "irq views");
    check(kbc.output_port() & I8042::kOutputPortResetInactive, "reset line left asserted");
    check(kbc.keyboard().queued() <= Ps2Keyboard::kQueueCapacity, "keyboard buffer bounded");
    check(full || !keyboard_port_enabled() || kbc.keyboard().queued() == 0, "keyboard byte held with OBF empty");
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Harness h;
  size_t i = 0;
  while (i < size) {
    const uint8_t op = data[i++];
    const uint8_t value = (op & 1) && i < size ? data[i++] : 0;
    h.step(op, value);
    h.check_state();
  }
  return 0;
}

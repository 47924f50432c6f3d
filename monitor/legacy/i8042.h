// The PC keyboard controller (i8042) as a pure state machine, with a minimal PS/2 keyboard
// (ps2_keyboard.h) on its first port and nothing on the second. It exists so that Linux's
// i8042 and atkbd drivers probe it quickly, so that the guest can reset the machine through
// it (reboot=k, and the controller fallback of other paths), and so that the monitor can
// press Ctrl-Alt-Del for the operator. Its input is the guest's (tenant's) port accesses.
//
// Ports: the monitor registers it at base 0x60 with a span of 5 ports. Offset 0 (port 0x60)
// is the data port, offset 4 (port 0x64) the status (read) / command (write) port. Offsets
// 1..3 (ports 0x61..0x63) belong to other devices on a PC: they read 0xff and ignore writes.
// Registers are one byte; see register_access.h for wider accesses.
//
// Model:
//  * One output buffer byte (OBF). A new controller reply replaces an unread one, so the
//    state stays bounded whatever the guest sends. IBF is always clear: every write is
//    consumed at once.
//  * Controller RAM of 32 bytes; byte 0 is the command byte (CTR). 0x20..0x3f read a byte,
//    0x60..0x7f + data write one.
//  * 0xaa self test -> 0x55, 0xab / 0xa9 interface tests -> 0x00, 0xad / 0xae / 0xa7 / 0xa8
//    set / clear the CTR port-disable bits, 0xd0 reads and 0xd1 + data writes the output
//    port, 0xd2 / 0xd3 + data place a byte in the output buffer as if from the keyboard /
//    mouse (Linux's AUX loopback probe), 0xf0..0xff pulse output port lines (bit 0 clear in
//    the command pulses the reset line: 0xfe). Other commands are ignored.
//  * A reset request (output port bit 0 written as 0, or a pulse of it) calls on_reset once.
//  * A byte written to port 0x60 with no command expecting a parameter goes to the keyboard,
//    whatever the port-disable bit says. The keyboard's bytes (replies and injected keys)
//    wait in its own FIFO and move into the output buffer whenever that is empty and the
//    first port is enabled (CTR bit 4 clear). With CTR bit 6 (translation, on by default and
//    as Linux leaves it) the controller translates them from scancode set 2 to set 1 as an
//    8042 does: an 0xf0 break prefix is swallowed and sets bit 7 of the next byte, which is
//    mapped through the set 2 -> set 1 table (kept for the bytes this keyboard can send).
//  * 0xd4 + data goes to the mouse, which is absent: as a PS/2 controller does when a device
//    does not clock, the controller answers 0xfe with the status time-out and AUX bits set.
//    Linux's PS/2 layer takes that as a failed command at once.
//  * Optional interrupt lines: IRQ 1 is high while the output buffer holds a keyboard-side
//    byte and CTR bit 0 is set; IRQ 12 likewise for a mouse-side byte and CTR bit 1. With
//    them wired, Linux's AUX IRQ test passes at once; without them it waits 250 ms and then
//    decides there is no AUX port. Each line's callback runs only when its level changes;
//    when a read takes a byte and the keyboard has another, the line drops and rises again,
//    so each keyboard byte is one edge for the (edge-triggered) ISA interrupt.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>

#include "monitor/legacy/port_io_device.h"
#include "monitor/legacy/ps2_keyboard.h"

namespace bulwark::legacy {

class I8042 final : public PortIoDevice {
 public:
  static constexpr uint16_t kBase = 0x60;
  static constexpr uint16_t kPortCount = 5;
  static constexpr uint16_t kDataOffset = 0;
  static constexpr uint16_t kStatusCommandOffset = 4;
  static constexpr uint8_t kKeyboardIrq = 1;
  static constexpr uint8_t kAuxIrq = 12;

  // Status register bits.
  static constexpr uint8_t kStatusOutputFull = 0x01;
  static constexpr uint8_t kStatusInputFull = 0x02;
  static constexpr uint8_t kStatusSystemFlag = 0x04;
  static constexpr uint8_t kStatusLastWasCommand = 0x08;
  static constexpr uint8_t kStatusNotInhibited = 0x10;  // keylock off
  static constexpr uint8_t kStatusAuxData = 0x20;
  static constexpr uint8_t kStatusTimeout = 0x40;

  // Command byte (CTR) bits.
  static constexpr uint8_t kCtrKeyboardInterrupt = 0x01;
  static constexpr uint8_t kCtrAuxInterrupt = 0x02;
  static constexpr uint8_t kCtrSystemFlag = 0x04;
  static constexpr uint8_t kCtrKeyboardDisabled = 0x10;
  static constexpr uint8_t kCtrAuxDisabled = 0x20;
  static constexpr uint8_t kCtrTranslate = 0x40;
  // After power-on self test: keyboard interrupt on, translation on, AUX port disabled.
  static constexpr uint8_t kDefaultCtr = kCtrKeyboardInterrupt | kCtrSystemFlag | kCtrAuxDisabled | kCtrTranslate;

  // Output port bits.
  static constexpr uint8_t kOutputPortResetInactive = 0x01;  // 0 holds the CPU in reset
  static constexpr uint8_t kOutputPortA20 = 0x02;
  static constexpr uint8_t kDefaultOutputPort = kOutputPortResetInactive | kOutputPortA20;

  // Controller replies and device answers.
  static constexpr uint8_t kSelfTestPassed = 0x55;
  static constexpr uint8_t kInterfaceTestPassed = 0x00;
  static constexpr uint8_t kNoDeviceAnswer = 0xfe;

  explicit I8042(std::function<void()> on_reset, IrqLine keyboard_irq = {}, IrqLine aux_irq = {});

  void port_read(uint16_t offset, std::span<uint8_t> data) override;
  void port_write(uint16_t offset, std::span<const uint8_t> data) override;

  uint64_t resets_requested() const { return resets_requested_; }

  // Presses Ctrl-Alt-Del on the keyboard for the monitor (the operator's request): false when
  // the keyboard is not scanning (disabled by the guest) or its buffer cannot hold the keys.
  // The bytes reach the guest as the port and CTR allow. Call it under the same serialisation
  // as the port accesses (the I/O bus lock).
  bool inject_ctrl_alt_del();

  // Read-only views for diagnostics and the fuzz target's invariant checks.
  uint8_t status() const;
  uint8_t command_byte() const { return ram_[0]; }
  uint8_t output_port() const { return output_port_; }
  bool keyboard_irq_level() const { return keyboard_irq_level_; }
  bool aux_irq_level() const { return aux_irq_level_; }
  const Ps2Keyboard& keyboard() const { return keyboard_; }

 private:
  // What the next byte written to the data port is for.
  enum class DataTarget : uint8_t {
    kKeyboard,       // no command pending: the byte goes to the keyboard
    kControllerRam,  // 0x60..0x7f: pending_ram_index_ says where
    kOutputPort,     // 0xd1
    kKeyboardOutput,  // 0xd2
    kAuxOutput,      // 0xd3
    kAuxDevice,      // 0xd4
  };
  enum class Source : uint8_t { kKeyboard, kAux };

  void write_command(uint8_t command);
  void write_data(uint8_t value);
  uint8_t read_data();
  void write_output_port(uint8_t value);
  void request_reset();
  void put_output(uint8_t value, Source source, bool timeout = false);
  void deliver_keyboard_output();
  void finish_access();
  void update_irqs();

  std::function<void()> on_reset_;
  IrqLine keyboard_irq_;
  IrqLine aux_irq_;
  Ps2Keyboard keyboard_;

  std::array<uint8_t, 32> ram_{};  // ram_[0] is the command byte
  uint8_t output_port_ = kDefaultOutputPort;
  DataTarget data_target_ = DataTarget::kKeyboard;
  uint8_t pending_ram_index_ = 0;
  bool last_write_was_command_ = false;

  bool output_full_ = false;
  uint8_t output_value_ = 0;  // stays readable (stale) after the buffer empties
  Source output_source_ = Source::kKeyboard;
  bool output_timeout_ = false;

  bool keyboard_irq_level_ = false;
  bool aux_irq_level_ = false;
  uint64_t resets_requested_ = 0;
};

}  // namespace bulwark::legacy

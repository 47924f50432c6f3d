#include "monitor/legacy/i8042.h"

#include <array>
#include <utility>

#include "monitor/legacy/register_access.h"

namespace bulwark::legacy {

namespace {

// Controller commands (written to port 0x64).
constexpr uint8_t kCmdReadRamFirst = 0x20;  // 0x20 reads the command byte
constexpr uint8_t kCmdReadRamLast = 0x3f;
constexpr uint8_t kCmdWriteRamFirst = 0x60;  // 0x60 writes the command byte
constexpr uint8_t kCmdWriteRamLast = 0x7f;
constexpr uint8_t kCmdDisableAux = 0xa7;
constexpr uint8_t kCmdEnableAux = 0xa8;
constexpr uint8_t kCmdTestAuxInterface = 0xa9;
constexpr uint8_t kCmdSelfTest = 0xaa;
constexpr uint8_t kCmdTestKeyboardInterface = 0xab;
constexpr uint8_t kCmdDisableKeyboard = 0xad;
constexpr uint8_t kCmdEnableKeyboard = 0xae;
constexpr uint8_t kCmdReadOutputPort = 0xd0;
constexpr uint8_t kCmdWriteOutputPort = 0xd1;
constexpr uint8_t kCmdWriteKeyboardOutput = 0xd2;
constexpr uint8_t kCmdWriteAuxOutput = 0xd3;
constexpr uint8_t kCmdWriteAuxDevice = 0xd4;
constexpr uint8_t kCmdPulseFirst = 0xf0;  // 0xf0..0xff: pulse output port bits 3..0 where 0

// Translation (CTR bit 6): set 2 -> set 1 for every byte below 0x80 that Ps2Keyboard sends,
// as the 8042's table maps them: its keys in each scancode set (the controller translates
// whatever the keyboard sends, even set 1 or 3 codes) and the scancode set numbers of its
// 0xf0 0x00 reply. The table also covers the one byte above 0x7f it changes, the ID byte
// 0x83 (so a translated get-ID answers 0xab 0x41). Other bytes pass unchanged: the
// keyboard's 0xfa, 0xaa, 0xab, 0xee, 0xfe and 0xe0 are unchanged by the 8042 too.
struct Set2ToSet1 {
  uint8_t set2;
  uint8_t set1;
};
constexpr std::array<Set2ToSet1, 12> kTranslation{{
    {0x01, 0x43}, {0x02, 0x41}, {0x03, 0x3f},  // scancode sets 1, 2, 3
    {0x14, 0x1d}, {0x11, 0x38}, {0x71, 0x53},  // set 2: left Ctrl, left Alt, Delete
    {0x1d, 0x11}, {0x38, 0x6a}, {0x53, 0x74},  // set 1: left Ctrl, left Alt, Delete
    {0x19, 0x71}, {0x64, 0x79},                // set 3: left Alt, Delete (left Ctrl is 0x11)
    {0x83, 0x41},                              // second get-ID byte
}};
constexpr uint8_t kBreakPrefix = 0xf0;  // set 2 / 3 key release; set 1 sets bit 7 instead
constexpr uint8_t kBreakBit = 0x80;

uint8_t translate_to_set1(uint8_t byte) {
  for (const auto& entry : kTranslation) {
    if (entry.set2 == byte) return entry.set1;
  }
  return byte;
}

}  // namespace

I8042::I8042(std::function<void()> on_reset, IrqLine keyboard_irq, IrqLine aux_irq)
    : on_reset_(std::move(on_reset)), keyboard_irq_(std::move(keyboard_irq)), aux_irq_(std::move(aux_irq)) {
  ram_[0] = kDefaultCtr;
}

void I8042::port_read(uint16_t offset, std::span<uint8_t> data) {
  if (data.empty()) return;
  uint8_t value = kFloatingBus;
  if (offset == kDataOffset) {
    value = read_data();
  } else if (offset == kStatusCommandOffset) {
    value = status();
  }
  fill_byte_read(data, value);
  finish_access();
}

void I8042::port_write(uint16_t offset, std::span<const uint8_t> data) {
  if (data.empty()) return;
  if (offset == kDataOffset) {
    write_data(data[0]);
  } else if (offset == kStatusCommandOffset) {
    write_command(data[0]);
  }
  finish_access();
}

bool I8042::inject_ctrl_alt_del() {
  const bool queued = keyboard_.inject_ctrl_alt_del();
  finish_access();
  return queued;
}

void I8042::finish_access() {
  // Lower the line first if the buffer was just read, so that the keyboard's next byte is a
  // new edge rather than a level that never dropped.
  update_irqs();
  deliver_keyboard_output();
  update_irqs();
}

void I8042::deliver_keyboard_output() {
  bool release = false;
  while (!output_full_ && (ram_[0] & kCtrKeyboardDisabled) == 0) {
    const auto byte = keyboard_.take_output();
    if (!byte) return;
    if ((ram_[0] & kCtrTranslate) == 0) {
      put_output(*byte, Source::kKeyboard);
    } else if (*byte == kBreakPrefix) {
      release = true;  // the keyboard queues the prefix and its key together
    } else {
      put_output(static_cast<uint8_t>(translate_to_set1(*byte) | (release ? kBreakBit : 0)), Source::kKeyboard);
      release = false;
    }
  }
}

uint8_t I8042::status() const {
  uint8_t value = kStatusNotInhibited;
  if (ram_[0] & kCtrSystemFlag) value |= kStatusSystemFlag;
  if (last_write_was_command_) value |= kStatusLastWasCommand;
  if (output_full_) {
    value |= kStatusOutputFull;
    if (output_source_ == Source::kAux) value |= kStatusAuxData;
    if (output_timeout_) value |= kStatusTimeout;
  }
  return value;
}

uint8_t I8042::read_data() {
  output_full_ = false;
  return output_value_;
}

void I8042::write_command(uint8_t command) {
  last_write_was_command_ = true;
  // A new command cancels one still waiting for its parameter byte.
  data_target_ = DataTarget::kKeyboard;
  if (command >= kCmdReadRamFirst && command <= kCmdReadRamLast) {
    put_output(ram_[command - kCmdReadRamFirst], Source::kKeyboard);
    return;
  }
  if (command >= kCmdWriteRamFirst && command <= kCmdWriteRamLast) {
    data_target_ = DataTarget::kControllerRam;
    pending_ram_index_ = static_cast<uint8_t>(command - kCmdWriteRamFirst);
    return;
  }
  if (command >= kCmdPulseFirst) {
    if ((command & kOutputPortResetInactive) == 0) request_reset();
    return;
  }
  switch (command) {
    case kCmdDisableAux:
      ram_[0] |= kCtrAuxDisabled;
      break;
    case kCmdEnableAux:
      ram_[0] &= static_cast<uint8_t>(~kCtrAuxDisabled);
      break;
    case kCmdTestAuxInterface:
    case kCmdTestKeyboardInterface:
      put_output(kInterfaceTestPassed, Source::kKeyboard);
      break;
    case kCmdSelfTest:
      ram_[0] |= kCtrSystemFlag;  // a passed self test sets the system flag
      put_output(kSelfTestPassed, Source::kKeyboard);
      break;
    case kCmdDisableKeyboard:
      ram_[0] |= kCtrKeyboardDisabled;
      break;
    case kCmdEnableKeyboard:
      ram_[0] &= static_cast<uint8_t>(~kCtrKeyboardDisabled);
      break;
    case kCmdReadOutputPort:
      put_output(output_port_, Source::kKeyboard);
      break;
    case kCmdWriteOutputPort:
      data_target_ = DataTarget::kOutputPort;
      break;
    case kCmdWriteKeyboardOutput:
      data_target_ = DataTarget::kKeyboardOutput;
      break;
    case kCmdWriteAuxOutput:
      data_target_ = DataTarget::kAuxOutput;
      break;
    case kCmdWriteAuxDevice:
      data_target_ = DataTarget::kAuxDevice;
      break;
    default:
      break;  // unknown or unmodelled (A20 gate, password, input port ...): ignored
  }
}

void I8042::write_data(uint8_t value) {
  last_write_was_command_ = false;
  const DataTarget target = data_target_;
  data_target_ = DataTarget::kKeyboard;
  switch (target) {
    case DataTarget::kKeyboard:
      keyboard_.receive(value);
      break;
    case DataTarget::kControllerRam:
      ram_[pending_ram_index_ % ram_.size()] = value;
      break;
    case DataTarget::kOutputPort:
      write_output_port(value);
      break;
    case DataTarget::kKeyboardOutput:
      put_output(value, Source::kKeyboard);
      break;
    case DataTarget::kAuxOutput:
      put_output(value, Source::kAux);
      break;
    case DataTarget::kAuxDevice:
      put_output(kNoDeviceAnswer, Source::kAux, /*timeout=*/true);
      break;
  }
}

void I8042::write_output_port(uint8_t value) {
  if ((value & kOutputPortResetInactive) == 0) {
    // The CPU is reset; the port then holds the value with the reset line released again,
    // so each such write is exactly one reset request.
    output_port_ = value | kOutputPortResetInactive;
    request_reset();
    return;
  }
  output_port_ = value;
}

void I8042::request_reset() {
  ++resets_requested_;
  if (on_reset_) on_reset_();
}

void I8042::put_output(uint8_t value, Source source, bool timeout) {
  output_full_ = true;
  output_value_ = value;
  output_source_ = source;
  output_timeout_ = timeout;
}

void I8042::update_irqs() {
  const bool keyboard =
      output_full_ && output_source_ == Source::kKeyboard && (ram_[0] & kCtrKeyboardInterrupt) != 0;
  const bool aux = output_full_ && output_source_ == Source::kAux && (ram_[0] & kCtrAuxInterrupt) != 0;
  if (keyboard != keyboard_irq_level_) {
    keyboard_irq_level_ = keyboard;
    if (keyboard_irq_) keyboard_irq_(keyboard);
  }
  if (aux != aux_irq_level_) {
    aux_irq_level_ = aux;
    if (aux_irq_) aux_irq_(aux);
  }
}

}  // namespace bulwark::legacy

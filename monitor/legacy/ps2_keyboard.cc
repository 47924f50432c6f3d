#include "monitor/legacy/ps2_keyboard.h"

namespace bulwark::legacy {

namespace {

constexpr uint8_t kCmdSetLeds = 0xed;
constexpr uint8_t kCmdEcho = 0xee;
constexpr uint8_t kCmdScancodeSet = 0xf0;
constexpr uint8_t kCmdGetId = 0xf2;
constexpr uint8_t kCmdTypematic = 0xf3;
constexpr uint8_t kCmdEnable = 0xf4;
constexpr uint8_t kCmdDisable = 0xf5;
constexpr uint8_t kCmdDefaults = 0xf6;
constexpr uint8_t kCmdReset = 0xff;

constexpr uint8_t kQueryScancodeSet = 0;
constexpr uint8_t kMaxScancodeSet = 3;
constexpr uint8_t kLedBits = 0x07;         // scroll, num, caps lock
constexpr uint8_t kTypematicBits = 0x7f;  // bit 7 must be zero

// Left Ctrl, left Alt, Delete pressed, then Delete, Alt, Ctrl released.
constexpr std::array<uint8_t, 8> kCtrlAltDelSet1{0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d};
constexpr std::array<uint8_t, 11> kCtrlAltDelSet2{0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14};
constexpr std::array<uint8_t, 9> kCtrlAltDelSet3{0x11, 0x19, 0x64, 0xf0, 0x64, 0xf0, 0x19, 0xf0, 0x11};

}  // namespace

void Ps2Keyboard::receive(uint8_t byte) {
  const Expecting what = expecting_;
  expecting_ = Expecting::kCommand;
  if (what == Expecting::kCommand) {
    run_command(byte);
  } else {
    take_parameter(what, byte);
  }
}

void Ps2Keyboard::run_command(uint8_t command) {
  switch (command) {
    case kCmdReset: {
      clear_output();
      restore_defaults();
      leds_ = 0;
      scanning_ = true;
      constexpr std::array<uint8_t, 2> reply{kAck, kSelfTestPassed};
      queue(reply);
      return;
    }
    case kCmdGetId: {
      constexpr std::array<uint8_t, 3> reply{kAck, kIdFirst, kIdSecond};
      queue(reply);
      return;
    }
    case kCmdDisable:
    case kCmdEnable:
    case kCmdDefaults:
      clear_output();
      if (command != kCmdEnable) restore_defaults();
      scanning_ = command != kCmdDisable;
      break;
    case kCmdSetLeds:
      expecting_ = Expecting::kLeds;
      break;
    case kCmdScancodeSet:
      expecting_ = Expecting::kScancodeSet;
      break;
    case kCmdTypematic:
      expecting_ = Expecting::kTypematic;
      break;
    case kCmdEcho: {
      constexpr std::array<uint8_t, 1> reply{kEcho};
      queue(reply);
      return;
    }
    default: {
      constexpr std::array<uint8_t, 1> reply{kResend};
      queue(reply);
      return;
    }
  }
  constexpr std::array<uint8_t, 1> ack{kAck};
  queue(ack);
}

void Ps2Keyboard::take_parameter(Expecting what, uint8_t value) {
  constexpr std::array<uint8_t, 1> ack{kAck};
  switch (what) {
    case Expecting::kLeds:
      leds_ = value & kLedBits;
      break;
    case Expecting::kTypematic:
      typematic_ = value & kTypematicBits;
      break;
    case Expecting::kScancodeSet:
      if (value == kQueryScancodeSet) {
        const std::array<uint8_t, 2> reply{kAck, scancode_set_};
        queue(reply);
        return;
      }
      if (value > kMaxScancodeSet) {
        constexpr std::array<uint8_t, 1> reply{kResend};
        queue(reply);
        return;
      }
      scancode_set_ = value;
      break;
    case Expecting::kCommand:
      break;  // not a parameter; receive() never passes it
  }
  queue(ack);
}

void Ps2Keyboard::restore_defaults() {
  scancode_set_ = kDefaultScancodeSet;
  typematic_ = kDefaultTypematic;
}

bool Ps2Keyboard::inject_ctrl_alt_del() {
  if (!scanning_) return false;
  switch (scancode_set_) {
    case 1:
      return queue(kCtrlAltDelSet1);
    case 3:
      return queue(kCtrlAltDelSet3);
    default:
      return queue(kCtrlAltDelSet2);
  }
}

std::optional<uint8_t> Ps2Keyboard::take_output() {
  if (count_ == 0) return std::nullopt;
  const uint8_t byte = ring_[head_];
  head_ = (head_ + 1) % ring_.size();
  --count_;
  return byte;
}

bool Ps2Keyboard::queue(std::span<const uint8_t> bytes) {
  if (bytes.size() > ring_.size() - count_) return false;
  for (uint8_t byte : bytes) {
    ring_[(head_ + count_) % ring_.size()] = byte;
    ++count_;
  }
  return true;
}

}  // namespace bulwark::legacy

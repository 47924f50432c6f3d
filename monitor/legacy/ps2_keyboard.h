// A minimal PS/2 (MF2) keyboard on the i8042's first port: enough for Linux's atkbd driver
// to bind to it and for the monitor to press Ctrl-Alt-Del on the operator's behalf. Its
// input is the guest's (tenant's) command bytes, relayed by the controller, and key
// sequences the monitor injects. A pure state machine; the controller (i8042.h) drains its
// output and applies scancode translation.
//
// Commands (PS/2 keyboard command set):
//   0xff reset -> 0xfa 0xaa (self test passed), defaults, LEDs off, scanning on
//   0xf2 get ID -> 0xfa 0xab 0x83
//   0xf5 disable -> 0xfa, defaults, scanning off; 0xf4 enable / 0xf6 defaults -> 0xfa,
//        scanning on. These three and reset also clear the output buffer, as a keyboard does.
//   0xed LEDs, 0xf3 typematic: 0xfa, then the parameter byte -> 0xfa
//   0xf0 scancode set: 0xfa, then 0 -> 0xfa + the current set, 1..3 -> 0xfa, other -> 0xfe
//   0xee echo -> 0xee; anything else -> 0xfe (resend)
// A parameter byte is always taken as the parameter, whatever its value.
//
// Output: a FIFO of kQueueCapacity bytes. A reply or key sequence that does not fit is
// dropped whole (a real keyboard drops what its buffer cannot hold; dropping whole messages
// never leaves half a sequence). 15 bytes plus the controller's output byte make 16, what
// Linux's i8042_flush() drains before it declares the controller missing.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace bulwark::legacy {

class Ps2Keyboard {
 public:
  static constexpr size_t kQueueCapacity = 15;

  // Bytes the keyboard sends.
  static constexpr uint8_t kAck = 0xfa;
  static constexpr uint8_t kSelfTestPassed = 0xaa;
  static constexpr uint8_t kEcho = 0xee;
  static constexpr uint8_t kResend = 0xfe;
  static constexpr uint8_t kIdFirst = 0xab;  // MF2 keyboard
  static constexpr uint8_t kIdSecond = 0x83;

  static constexpr uint8_t kDefaultScancodeSet = 2;
  static constexpr uint8_t kDefaultTypematic = 0x2b;  // 10.9 characters/s after 500 ms

  // A byte from the host (the guest, through the controller).
  void receive(uint8_t byte);

  // Queues left Ctrl, left Alt and Delete pressed, then released in reverse order, in the
  // current scancode set. False (and nothing queued) when scanning is off or the buffer
  // cannot take the whole sequence.
  bool inject_ctrl_alt_del();

  // The next byte for the controller, if any.
  std::optional<uint8_t> take_output();

  size_t queued() const { return count_; }
  bool scanning() const { return scanning_; }
  uint8_t scancode_set() const { return scancode_set_; }
  uint8_t leds() const { return leds_; }
  uint8_t typematic() const { return typematic_; }

 private:
  // What the next byte from the host is.
  enum class Expecting : uint8_t { kCommand, kLeds, kScancodeSet, kTypematic };

  void run_command(uint8_t command);
  void take_parameter(Expecting what, uint8_t value);
  void restore_defaults();
  void clear_output() { head_ = count_ = 0; }
  bool queue(std::span<const uint8_t> bytes);  // all or nothing

  std::array<uint8_t, kQueueCapacity> ring_{};
  size_t head_ = 0;
  size_t count_ = 0;
  Expecting expecting_ = Expecting::kCommand;
  bool scanning_ = true;  // a keyboard scans from power-on
  uint8_t scancode_set_ = kDefaultScancodeSet;
  uint8_t leds_ = 0;
  uint8_t typematic_ = kDefaultTypematic;
};

}  // namespace bulwark::legacy

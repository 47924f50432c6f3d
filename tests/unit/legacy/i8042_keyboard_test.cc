// The i8042 with its PS/2 keyboard as the guest's drivers see it through ports 0x60/0x64 and
// IRQ 1: Linux's atkbd conversations byte by byte, the port-disable and interrupt bits, the
// bounded keyboard buffer, and the monitor's Ctrl-Alt-Del.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "monitor/legacy/i8042.h"
#include "monitor/legacy/ps2_keyboard.h"
#include "tests/unit/legacy/port_access.h"

namespace bulwark::legacy {
namespace {

using testing::inb;
using testing::outb;
using Bytes = std::vector<uint8_t>;

constexpr uint8_t kAck = Ps2Keyboard::kAck;
const Bytes kCtrlAltDelSet1{0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d};
const Bytes kCtrlAltDelSet2{0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14};

class I8042KeyboardTest : public ::testing::Test {
 protected:
  I8042KeyboardTest() : kbc_([] {}, [this](bool level) { kbd_irq_.push_back(level); }) {}

  uint8_t status() { return inb(kbc_, I8042::kStatusCommandOffset); }
  void command(uint8_t c) { outb(kbc_, I8042::kStatusCommandOffset, c); }
  void write_ctr(uint8_t ctr) {
    command(0x60);
    outb(kbc_, I8042::kDataOffset, ctr);
  }
  // i8042_kbd_write(): one byte to the keyboard.
  void send(uint8_t byte) { outb(kbc_, I8042::kDataOffset, byte); }
  int rising_edges() const {
    int edges = 0;
    for (bool level : kbd_irq_) edges += level ? 1 : 0;
    return edges;
  }

  // What i8042_interrupt() does for each IRQ 1: read the status, then the byte. Every byte
  // must come as a keyboard byte with its own rising edge of IRQ 1, and the line must be
  // low once the buffer is empty.
  Bytes receive_all() {
    Bytes got;
    while (status() & I8042::kStatusOutputFull) {
      const uint8_t s = status();
      EXPECT_FALSE(s & (I8042::kStatusAuxData | I8042::kStatusTimeout)) << "status " << int(s);
      EXPECT_TRUE(kbc_.keyboard_irq_level()) << "byte " << got.size() << " without IRQ 1";
      EXPECT_EQ(rising_edges(), edges_seen_ + 1) << "byte " << got.size() << " without its own edge";
      edges_seen_ = rising_edges();
      got.push_back(inb(kbc_, I8042::kDataOffset));
      if (got.size() > 64) break;  // a model that never empties must fail, not hang
    }
    EXPECT_FALSE(kbc_.keyboard_irq_level());
    return got;
  }
  // ps2_command(): the command byte, then each parameter byte after its ACK.
  Bytes exchange(const Bytes& bytes) {
    Bytes got;
    for (uint8_t b : bytes) {
      send(b);
      const Bytes reply = receive_all();
      got.insert(got.end(), reply.begin(), reply.end());
    }
    return got;
  }

  std::vector<bool> kbd_irq_;
  int edges_seen_ = 0;
  I8042 kbc_;
};

// atkbd_connect() on x86 with the command byte Linux leaves (translation on): atkbd_probe()
// (get ID, then deactivate), atkbd_select_set() (nothing when translated), atkbd_reset_state()
// (LEDs off, fastest repeat), atkbd_activate().
TEST_F(I8042KeyboardTest, LinuxAtkbdConnectTranslated) {
  ASSERT_TRUE(kbc_.command_byte() & I8042::kCtrTranslate);
  EXPECT_EQ(exchange({0xf2}), (Bytes{kAck, 0xab, 0x41}));  // 0xab83, translated
  EXPECT_EQ(exchange({0xf5}), Bytes{kAck});
  EXPECT_FALSE(kbc_.keyboard().scanning());
  EXPECT_EQ(exchange({0xed, 0x00}), (Bytes{kAck, kAck}));
  EXPECT_EQ(exchange({0xf3, 0x00}), (Bytes{kAck, kAck}));
  EXPECT_EQ(exchange({0xf4}), Bytes{kAck});
  EXPECT_TRUE(kbc_.keyboard().scanning());
  EXPECT_EQ(kbc_.keyboard().typematic(), 0x00);
  EXPECT_EQ(rising_edges(), 9);  // one per byte
}

// The same driver with atkbd.reset=1 and i8042.direct=1 (no translation), and the scancode
// set query atkbd_select_set() makes for set 3: reset, get ID, LEDs, query, enable.
TEST_F(I8042KeyboardTest, AtkbdResetIdLedsSetQueryEnableUntranslated) {
  write_ctr(I8042::kCtrKeyboardInterrupt | I8042::kCtrSystemFlag | I8042::kCtrAuxDisabled);
  EXPECT_EQ(exchange({0xff}), (Bytes{kAck, 0xaa}));
  EXPECT_EQ(exchange({0xf2}), (Bytes{kAck, 0xab, 0x83}));
  EXPECT_EQ(exchange({0xed, 0x02}), (Bytes{kAck, kAck}));
  EXPECT_EQ(kbc_.keyboard().leds(), 0x02);
  EXPECT_EQ(exchange({0xf0, 0x00}), (Bytes{kAck, kAck, 0x02}));  // ACK each byte, then the set
  EXPECT_EQ(exchange({0xf4}), Bytes{kAck});
  EXPECT_EQ(exchange({0xee}), Bytes{0xee});
  EXPECT_EQ(exchange({0xe8}), Bytes{0xfe});  // not in this keyboard's command set
}

TEST_F(I8042KeyboardTest, TranslationMapsTheScancodeSetReply) {
  EXPECT_EQ(exchange({0xf0, 0x00}), (Bytes{kAck, kAck, 0x41}));  // set 2, as an 8042 passes it on
  EXPECT_EQ(exchange({0xf0, 0x01}), (Bytes{kAck, kAck}));
  EXPECT_EQ(exchange({0xf0, 0x00}), (Bytes{kAck, kAck, 0x43}));
}

TEST_F(I8042KeyboardTest, CtrlAltDelIsSetOneWhenTranslated) {
  ASSERT_TRUE(kbc_.inject_ctrl_alt_del());
  EXPECT_EQ(receive_all(), kCtrlAltDelSet1);
  EXPECT_EQ(rising_edges(), 8);  // one IRQ 1 edge per byte
}

TEST_F(I8042KeyboardTest, CtrlAltDelIsSetTwoUntranslated) {
  write_ctr(I8042::kCtrKeyboardInterrupt | I8042::kCtrSystemFlag);
  ASSERT_TRUE(kbc_.inject_ctrl_alt_del());
  EXPECT_EQ(receive_all(), kCtrlAltDelSet2);
  EXPECT_EQ(rising_edges(), 11);
}

// An 8042 translates whatever the keyboard sends, even in another scancode set (Linux never
// asks for that, but a guest may).
TEST_F(I8042KeyboardTest, TranslationAppliesInEverySet) {
  EXPECT_EQ(exchange({0xf0, 0x01}), (Bytes{kAck, kAck}));
  ASSERT_TRUE(kbc_.inject_ctrl_alt_del());
  EXPECT_EQ(receive_all(), (Bytes{0x11, 0x6a, 0xe0, 0x74, 0xe0, 0xd3, 0xb8, 0x9d}));
  EXPECT_EQ(exchange({0xf0, 0x03}), (Bytes{kAck, kAck}));
  ASSERT_TRUE(kbc_.inject_ctrl_alt_del());
  EXPECT_EQ(receive_all(), (Bytes{0x38, 0x71, 0x79, 0xf9, 0xf1, 0xb8}));
}

TEST_F(I8042KeyboardTest, CtrlAltDelRefusedWhileScanningIsOff) {
  EXPECT_EQ(exchange({0xf5}), Bytes{kAck});
  EXPECT_FALSE(kbc_.inject_ctrl_alt_del());
  EXPECT_FALSE(status() & I8042::kStatusOutputFull);
  EXPECT_EQ(kbc_.keyboard().queued(), 0u);
  EXPECT_EQ(exchange({0xf4}), Bytes{kAck});
  EXPECT_TRUE(kbc_.inject_ctrl_alt_del());
  EXPECT_EQ(receive_all(), kCtrlAltDelSet1);
}

TEST_F(I8042KeyboardTest, DisabledPortSeesNothingUntilEnabled) {
  command(0xad);
  ASSERT_TRUE(kbc_.inject_ctrl_alt_del());  // the keyboard scans; the controller holds its clock
  send(0xf2);                               // the keyboard still takes the command
  EXPECT_FALSE(status() & I8042::kStatusOutputFull);
  EXPECT_TRUE(kbd_irq_.empty());
  EXPECT_EQ(kbc_.keyboard().queued(), 14u);

  // A controller reply is not held up by the keyboard's bytes.
  command(0x20);
  EXPECT_EQ(inb(kbc_, I8042::kDataOffset), kbc_.command_byte());
  edges_seen_ = rising_edges();

  command(0xae);
  Bytes expected = kCtrlAltDelSet1;
  expected.insert(expected.end(), {kAck, 0xab, 0x41});
  EXPECT_EQ(receive_all(), expected);
}

TEST_F(I8042KeyboardTest, CommandByteDisableBitHoldsBytesToo) {
  write_ctr(I8042::kDefaultCtr | I8042::kCtrKeyboardDisabled);
  send(0xee);
  EXPECT_FALSE(status() & I8042::kStatusOutputFull);
  write_ctr(I8042::kDefaultCtr);
  EXPECT_EQ(receive_all(), Bytes{0xee});
}

TEST_F(I8042KeyboardTest, BufferOverflowDropsAndStaysWithinLinuxFlush) {
  command(0xad);
  for (int i = 0; i < 40; ++i) send(0xee);
  EXPECT_EQ(kbc_.keyboard().queued(), Ps2Keyboard::kQueueCapacity);
  EXPECT_FALSE(kbc_.inject_ctrl_alt_del());  // no room for the whole sequence: none of it
  command(0xae);
  const Bytes got = receive_all();
  EXPECT_EQ(got, Bytes(Ps2Keyboard::kQueueCapacity, 0xee));
  // i8042_flush() reads at most 16 bytes before it gives up on the controller.
  EXPECT_LE(got.size(), 16u);
  EXPECT_TRUE(kbc_.inject_ctrl_alt_del());
}

TEST_F(I8042KeyboardTest, PolledWithTheInterruptOff) {
  write_ctr(I8042::kCtrSystemFlag | I8042::kCtrTranslate);
  ASSERT_TRUE(kbc_.inject_ctrl_alt_del());
  Bytes got;
  while ((status() & I8042::kStatusOutputFull) && got.size() < 64) got.push_back(inb(kbc_, I8042::kDataOffset));
  EXPECT_EQ(got, kCtrlAltDelSet1);
  EXPECT_TRUE(kbd_irq_.empty());
}

TEST_F(I8042KeyboardTest, UnreadKeyboardByteKeepsTheLineHighWithoutANewEdge) {
  ASSERT_TRUE(kbc_.inject_ctrl_alt_del());
  EXPECT_EQ(rising_edges(), 1);
  (void)status();
  send(0xee);  // more keyboard output while the first byte is unread: no extra edge yet
  EXPECT_EQ(rising_edges(), 1);
  Bytes expected = kCtrlAltDelSet1;
  expected.push_back(0xee);
  EXPECT_EQ(receive_all(), expected);
}

TEST_F(I8042KeyboardTest, MouseStillMeetsNoDevice) {
  command(0xd4);
  outb(kbc_, I8042::kDataOffset, 0xf2);
  const uint8_t s = status();
  EXPECT_TRUE(s & I8042::kStatusTimeout);
  EXPECT_TRUE(s & I8042::kStatusAuxData);
  EXPECT_EQ(inb(kbc_, I8042::kDataOffset), I8042::kNoDeviceAnswer);
  EXPECT_EQ(kbc_.keyboard().queued(), 0u);
}

}  // namespace
}  // namespace bulwark::legacy

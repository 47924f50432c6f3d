// The PS/2 keyboard alone: its replies to each command byte a guest can send, its state, its
// bounded buffer, and the Ctrl-Alt-Del sequence in each scancode set.
#include "monitor/legacy/ps2_keyboard.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace bulwark::legacy {
namespace {

using Bytes = std::vector<uint8_t>;
constexpr uint8_t kAck = Ps2Keyboard::kAck;

class Ps2KeyboardTest : public ::testing::Test {
 protected:
  Bytes drain() {
    Bytes got;
    while (auto byte = kbd_.take_output()) got.push_back(*byte);
    return got;
  }
  Bytes send(const Bytes& bytes) {
    for (uint8_t b : bytes) kbd_.receive(b);
    return drain();
  }

  Ps2Keyboard kbd_;
};

TEST_F(Ps2KeyboardTest, PowersOnScanningInSetTwo) {
  EXPECT_TRUE(kbd_.scanning());
  EXPECT_EQ(kbd_.scancode_set(), 2);
  EXPECT_EQ(kbd_.queued(), 0u);
  EXPECT_FALSE(kbd_.take_output().has_value());
}

TEST_F(Ps2KeyboardTest, ResetPassesSelfTestAndRestoresPowerOnState) {
  EXPECT_EQ(send({0xf5, 0xf0, 0x03, 0xed, 0x07, 0xf3, 0x7f}), (Bytes{kAck, kAck, kAck, kAck, kAck, kAck, kAck}));
  ASSERT_FALSE(kbd_.scanning());
  EXPECT_EQ(send({0xff}), (Bytes{kAck, 0xaa}));
  EXPECT_TRUE(kbd_.scanning());
  EXPECT_EQ(kbd_.scancode_set(), 2);
  EXPECT_EQ(kbd_.leds(), 0);
  EXPECT_EQ(kbd_.typematic(), Ps2Keyboard::kDefaultTypematic);
}

TEST_F(Ps2KeyboardTest, GetIdIsAnMf2Keyboard) { EXPECT_EQ(send({0xf2}), (Bytes{kAck, 0xab, 0x83})); }

TEST_F(Ps2KeyboardTest, EchoAndUnknownCommands) {
  EXPECT_EQ(send({0xee}), Bytes{0xee});
  for (uint8_t unknown : {0x00, 0x41, 0xe8, 0xf7, 0xfd, 0xfe}) {
    EXPECT_EQ(send({unknown}), Bytes{0xfe}) << "command " << int(unknown);
  }
}

TEST_F(Ps2KeyboardTest, ParametersAreTakenWhateverTheirValue) {
  ASSERT_EQ(send({0xf5}), Bytes{kAck});
  // 0xf4 here is the LED mask, not "enable": scanning stays off.
  EXPECT_EQ(send({0xed, 0xf4}), (Bytes{kAck, kAck}));
  EXPECT_EQ(kbd_.leds(), 0x04);
  EXPECT_FALSE(kbd_.scanning());
  EXPECT_EQ(send({0xf3, 0xff}), (Bytes{kAck, kAck}));
  EXPECT_EQ(kbd_.typematic(), 0x7f);
  // After the parameter, the next byte is a command again.
  EXPECT_EQ(send({0xf4}), Bytes{kAck});
  EXPECT_TRUE(kbd_.scanning());
}

TEST_F(Ps2KeyboardTest, ScancodeSetSelectAndQuery) {
  EXPECT_EQ(send({0xf0, 0x00}), (Bytes{kAck, kAck, 0x02}));
  EXPECT_EQ(send({0xf0, 0x03}), (Bytes{kAck, kAck}));
  EXPECT_EQ(send({0xf0, 0x00}), (Bytes{kAck, kAck, 0x03}));
  EXPECT_EQ(send({0xf0, 0x04}), (Bytes{kAck, 0xfe}));  // no such set: unchanged
  EXPECT_EQ(kbd_.scancode_set(), 3);
  EXPECT_EQ(send({0xf6}), Bytes{kAck});  // defaults bring set 2 back
  EXPECT_EQ(kbd_.scancode_set(), 2);
}

TEST_F(Ps2KeyboardTest, DisableEnableAndDefaultsClearTheBuffer) {
  for (uint8_t command : {0xf5, 0xf4, 0xf6, 0xff}) {
    kbd_.receive(0xee);                 // an echo waiting to be read
    (void)kbd_.inject_ctrl_alt_del();  // and keys, when scanning
    kbd_.receive(command);
    const Bytes got = drain();
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(got.front(), kAck) << "keys left before the ACK of " << int(command);
  }
}

TEST_F(Ps2KeyboardTest, CtrlAltDelInEachSet) {
  ASSERT_TRUE(kbd_.inject_ctrl_alt_del());
  EXPECT_EQ(drain(), (Bytes{0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14}));
  send({0xf0, 0x01});
  ASSERT_TRUE(kbd_.inject_ctrl_alt_del());
  EXPECT_EQ(drain(), (Bytes{0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d}));
  send({0xf0, 0x03});
  ASSERT_TRUE(kbd_.inject_ctrl_alt_del());
  EXPECT_EQ(drain(), (Bytes{0x11, 0x19, 0x64, 0xf0, 0x64, 0xf0, 0x19, 0xf0, 0x11}));
}

TEST_F(Ps2KeyboardTest, NoKeysWhileDisabled) {
  send({0xf5});
  EXPECT_FALSE(kbd_.inject_ctrl_alt_del());
  EXPECT_EQ(kbd_.queued(), 0u);
}

TEST_F(Ps2KeyboardTest, BufferIsBoundedAndDropsWholeMessages) {
  ASSERT_TRUE(kbd_.inject_ctrl_alt_del());  // 11 bytes
  EXPECT_FALSE(kbd_.inject_ctrl_alt_del());
  kbd_.receive(0xf2);  // 3 more fit
  EXPECT_EQ(kbd_.queued(), 14u);
  kbd_.receive(0xf2);  // 3 do not: dropped whole, no partial ID
  EXPECT_EQ(kbd_.queued(), 14u);
  kbd_.receive(0xee);
  EXPECT_EQ(kbd_.queued(), Ps2Keyboard::kQueueCapacity);
  for (int i = 0; i < 100; ++i) kbd_.receive(0xee);
  EXPECT_EQ(kbd_.queued(), Ps2Keyboard::kQueueCapacity);
  const Bytes got = drain();
  ASSERT_EQ(got.size(), Ps2Keyboard::kQueueCapacity);
  EXPECT_EQ((Bytes(got.end() - 4, got.end())), (Bytes{kAck, 0xab, 0x83, 0xee}));
}

}  // namespace
}  // namespace bulwark::legacy

#include "monitor/legacy/i8042.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/unit/legacy/port_access.h"

namespace bulwark::legacy {
namespace {

using testing::in_n;
using testing::inb;
using testing::outb;

class I8042Test : public ::testing::Test {
 protected:
  I8042Test()
      : kbc_([this] { ++resets_; }, [this](bool level) { kbd_irq_.push_back(level); },
             [this](bool level) { aux_irq_.push_back(level); }) {}

  uint8_t status() { return inb(kbc_, I8042::kStatusCommandOffset); }
  uint8_t data() { return inb(kbc_, I8042::kDataOffset); }
  void command(uint8_t c) { outb(kbc_, I8042::kStatusCommandOffset, c); }
  void write_data(uint8_t v) { outb(kbc_, I8042::kDataOffset, v); }
  // What Linux's i8042_command() does for a command with one reply byte.
  uint8_t command_reply(uint8_t c) {
    command(c);
    EXPECT_TRUE(status() & I8042::kStatusOutputFull) << "no reply to command " << int(c);
    return data();
  }

  int resets_ = 0;
  std::vector<bool> kbd_irq_;
  std::vector<bool> aux_irq_;
  I8042 kbc_;
};

TEST_F(I8042Test, IdleStatusHasNoDataAndNeverInputFull) {
  const uint8_t s = status();
  EXPECT_FALSE(s & I8042::kStatusOutputFull);
  EXPECT_FALSE(s & I8042::kStatusInputFull);
  EXPECT_TRUE(s & I8042::kStatusSystemFlag);
  EXPECT_TRUE(s & I8042::kStatusNotInhibited);  // Linux warns about keylock otherwise
}

TEST_F(I8042Test, SelfTestAnswers55AndReadingEmptiesTheBuffer) {
  command(0xaa);
  EXPECT_TRUE(status() & I8042::kStatusOutputFull);
  EXPECT_TRUE(status() & I8042::kStatusLastWasCommand);
  EXPECT_EQ(data(), I8042::kSelfTestPassed);
  EXPECT_FALSE(status() & I8042::kStatusOutputFull);
}

TEST_F(I8042Test, InterfaceTestsPass) {
  EXPECT_EQ(command_reply(0xab), 0x00);
  EXPECT_EQ(command_reply(0xa9), 0x00);
}

TEST_F(I8042Test, CommandByteRoundTrips) {
  EXPECT_EQ(command_reply(0x20), I8042::kDefaultCtr);
  command(0x60);
  EXPECT_FALSE(status() & I8042::kStatusOutputFull);
  write_data(0x47);
  EXPECT_EQ(command_reply(0x20), 0x47);
  EXPECT_EQ(kbc_.command_byte(), 0x47);
  EXPECT_EQ(resets_, 0);
}

TEST_F(I8042Test, PortEnableCommandsUpdateCommandByte) {
  command(0xa7);
  EXPECT_TRUE(command_reply(0x20) & I8042::kCtrAuxDisabled);
  command(0xa8);
  EXPECT_FALSE(command_reply(0x20) & I8042::kCtrAuxDisabled);
  command(0xad);
  EXPECT_TRUE(command_reply(0x20) & I8042::kCtrKeyboardDisabled);
  command(0xae);
  EXPECT_FALSE(command_reply(0x20) & I8042::kCtrKeyboardDisabled);
}

TEST_F(I8042Test, PulseResetRequestsExactlyOneReset) {
  command(0xfe);
  EXPECT_EQ(resets_, 1);
  EXPECT_EQ(kbc_.resets_requested(), 1u);
  command(0xff);  // pulses no line
  EXPECT_EQ(resets_, 1);
}

TEST_F(I8042Test, OutputPortWriteWithResetBitClearRequestsOneReset) {
  command(0xd1);
  write_data(0x03);
  EXPECT_EQ(resets_, 0);
  EXPECT_EQ(command_reply(0xd0), 0x03);
  command(0xd1);
  write_data(0xfe);
  EXPECT_EQ(resets_, 1);
  EXPECT_EQ(kbc_.resets_requested(), 1u);
  // The next data byte goes to the keyboard, not to the output port again.
  write_data(0x00);
  EXPECT_EQ(resets_, 1);
}

TEST_F(I8042Test, NewCommandCancelsPendingParameter) {
  command(0xd1);
  command(0xaa);
  EXPECT_EQ(data(), I8042::kSelfTestPassed);
  write_data(0x00);  // for the keyboard now, not the output port
  EXPECT_EQ(resets_, 0);
}

TEST_F(I8042Test, KeyboardBytesReachTheKeyboard) {
  write_data(0xf2);  // keyboard "get ID": answered by the keyboard, no time-out
  const uint8_t s = status();
  EXPECT_TRUE(s & I8042::kStatusOutputFull);
  EXPECT_FALSE(s & I8042::kStatusTimeout);
  EXPECT_FALSE(s & I8042::kStatusAuxData);
  EXPECT_EQ(data(), Ps2Keyboard::kAck);
  EXPECT_EQ(data(), Ps2Keyboard::kIdFirst);
  EXPECT_EQ(data(), 0x41);  // 0x83 as the translating controller passes it on
  EXPECT_FALSE(status() & I8042::kStatusOutputFull);
}

TEST_F(I8042Test, MouseBytesMeetNoDevice) {
  command(0xd4);
  write_data(0xff);
  const uint8_t s = status();
  EXPECT_TRUE(s & I8042::kStatusTimeout);
  EXPECT_TRUE(s & I8042::kStatusAuxData);
  EXPECT_EQ(data(), I8042::kNoDeviceAnswer);
}

TEST_F(I8042Test, AuxLoopbackEchoesFromTheMousePort) {
  // Linux's i8042_check_aux() loopback test.
  command(0xd3);
  write_data(0x5a);
  EXPECT_TRUE(status() & I8042::kStatusAuxData);
  EXPECT_EQ(data(), 0x5a);
}

TEST_F(I8042Test, IrqLinesFollowOutputBufferAndCommandByte) {
  command(0xaa);  // default CTR enables the keyboard interrupt
  EXPECT_EQ(kbd_irq_, std::vector<bool>{true});
  (void)data();
  EXPECT_EQ(kbd_irq_, (std::vector<bool>{true, false}));
  EXPECT_TRUE(aux_irq_.empty());

  command(0x60);
  write_data(I8042::kCtrAuxInterrupt | I8042::kCtrSystemFlag);
  command(0xd3);
  write_data(0xa5);
  EXPECT_EQ(aux_irq_, std::vector<bool>{true});
  EXPECT_EQ(kbd_irq_.size(), 2u);
  (void)data();
  EXPECT_EQ(aux_irq_, (std::vector<bool>{true, false}));
}

TEST_F(I8042Test, NoInterruptWhenCommandByteDisablesIt) {
  command(0x60);
  write_data(0x00);
  command(0xaa);
  EXPECT_TRUE(status() & I8042::kStatusOutputFull);
  EXPECT_TRUE(kbd_irq_.empty());
}

TEST_F(I8042Test, ControllerRamRoundTrips) {
  command(0x65);
  write_data(0x99);
  EXPECT_EQ(command_reply(0x25), 0x99);
}

TEST_F(I8042Test, OtherPortsInTheSpanFloat) {
  for (uint16_t offset : {1, 2, 3, 5}) EXPECT_EQ(inb(kbc_, offset), 0xff);
  outb(kbc_, 1, 0xfe);
  EXPECT_EQ(resets_, 0);
  EXPECT_EQ(in_n(kbc_, I8042::kStatusCommandOffset, 2)[1], 0xff);
}

TEST_F(I8042Test, UnknownCommandsAreIgnored) {
  command(0xc7);
  EXPECT_FALSE(status() & I8042::kStatusOutputFull);
  EXPECT_EQ(resets_, 0);
}

TEST(I8042WithoutIrqs, ResetWorksWithOnlyTheResetCallback) {
  int resets = 0;
  I8042 kbc([&] { ++resets; });
  outb(kbc, I8042::kStatusCommandOffset, 0xaa);
  EXPECT_EQ(inb(kbc, I8042::kDataOffset), I8042::kSelfTestPassed);
  outb(kbc, I8042::kStatusCommandOffset, 0xfe);
  EXPECT_EQ(resets, 1);
}

}  // namespace
}  // namespace bulwark::legacy

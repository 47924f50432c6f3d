// The CRB register state machine as Linux's tpm_crb drives it, and what a hostile guest gets:
// bad widths and offsets, read-only registers, commands without the locality, command lengths
// beyond the buffer, commands after the engine failed.
#include "monitor/tpm/crb_access.h"
#include "monitor/tpm/crb_device.h"

#include <gtest/gtest.h>

#include <vector>

namespace bulwark::tpm {
namespace {

uint32_t read32(CrbDevice& crb, uint64_t offset) { return crb_read32(crb, offset); }
void write32(CrbDevice& crb, uint64_t offset, uint32_t value) { crb_write32(crb, offset, value); }

void write_buffer(CrbDevice& crb, const std::vector<uint8_t>& bytes) {
  for (size_t i = 0; i < bytes.size(); ++i) crb.mmio_write(kDataBuffer + i, std::span<const uint8_t>(&bytes[i], 1));
}

std::vector<uint8_t> read_buffer(CrbDevice& crb, size_t n) {
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; ++i) crb.mmio_read(kDataBuffer + i, std::span<uint8_t>(&out[i], 1));
  return out;
}

// TPM2_GetRandom(16)
const std::vector<uint8_t> kGetRandom = {0x80, 0x01, 0, 0, 0, 0x0c, 0, 0, 0x01, 0x7b, 0x00, 0x10};

uint32_t response_code(CrbDevice& crb) {
  const auto h = read_buffer(crb, 10);
  return (uint32_t{h[6]} << 24) | (uint32_t{h[7]} << 16) | (uint32_t{h[8]} << 8) | h[9];
}

void request_locality(CrbDevice& crb) {
  write32(crb, kLocCtrl, kLocCtrlRequest);
  write32(crb, kCtrlReq, kCtrlReqCmdReady);
}

TEST(CrbDevice, IdentifiesAsCrbWithItsBufferInsideTheRegion) {
  CrbDevice crb;
  EXPECT_EQ(read32(crb, kInterfaceId) & 0xf, 1u);  // CRB interface
  EXPECT_EQ(read32(crb, kLocState) & kLocStateRegValid, kLocStateRegValid);
  EXPECT_EQ(read32(crb, kCtrlCmdSize), kDataBufferSize);
  EXPECT_EQ(read32(crb, kCtrlCmdLaddr), kCrbBase + kDataBuffer);
  EXPECT_EQ(read32(crb, kCtrlCmdHaddr), 0u);
  EXPECT_EQ(read32(crb, kCtrlRspSize), kDataBufferSize);
  EXPECT_EQ(read32(crb, kCtrlRspAddr), kCrbBase + kDataBuffer);
  EXPECT_EQ(read32(crb, kCtrlRspAddr + 4), 0u);
  EXPECT_LE(kDataBuffer + kDataBufferSize, kCrbSize);
}

TEST(CrbDevice, LocalityRequestAndRelinquish) {
  CrbDevice crb;
  EXPECT_EQ(read32(crb, kLocState) & kLocStateAssigned, 0u);
  write32(crb, kLocCtrl, kLocCtrlRequest);
  EXPECT_EQ(read32(crb, kLocState) & kLocStateAssigned, kLocStateAssigned);
  EXPECT_EQ(read32(crb, kLocSts) & kLocStsGranted, kLocStsGranted);
  write32(crb, kLocCtrl, kLocCtrlRelinquish);
  EXPECT_EQ(read32(crb, kLocState) & kLocStateAssigned, 0u);
  EXPECT_EQ(read32(crb, kLocSts), 0u);
}

TEST(CrbDevice, ReadyAndIdle) {
  CrbDevice crb;
  write32(crb, kLocCtrl, kLocCtrlRequest);
  EXPECT_EQ(read32(crb, kCtrlSts) & kCtrlStsIdle, kCtrlStsIdle);
  write32(crb, kCtrlReq, kCtrlReqCmdReady);
  EXPECT_EQ(read32(crb, kCtrlReq), 0u);  // the request completes at once
  EXPECT_EQ(read32(crb, kCtrlSts) & kCtrlStsIdle, 0u);
  write32(crb, kCtrlReq, kCtrlReqGoIdle);
  EXPECT_EQ(read32(crb, kCtrlSts) & kCtrlStsIdle, kCtrlStsIdle);
}

TEST(CrbDevice, StartHandsTheCommandOverAndTheResponseBack) {
  CrbDevice crb;
  request_locality(crb);
  write_buffer(crb, kGetRandom);
  EXPECT_FALSE(crb.command_waiting());
  write32(crb, kCtrlStart, kCtrlStartInvoke);
  EXPECT_TRUE(crb.command_waiting());
  EXPECT_EQ(read32(crb, kCtrlStart), kCtrlStartInvoke);  // busy until the answer
  // The guest cannot change the command or the buffer while it is in flight.
  const uint8_t junk = 0xee;
  crb.mmio_write(kDataBuffer, std::span<const uint8_t>(&junk, 1));
  auto command = crb.take_command();
  ASSERT_TRUE(command);
  EXPECT_EQ(*command, kGetRandom);
  EXPECT_FALSE(crb.take_command());
  const std::vector<uint8_t> response = {0x80, 0x01, 0, 0, 0, 0x0e, 0, 0, 0, 0, 0, 2, 0xab, 0xcd};
  crb.complete(response);
  EXPECT_EQ(read32(crb, kCtrlStart), 0u);
  EXPECT_EQ(read_buffer(crb, response.size()), response);
  EXPECT_FALSE(crb.failed());
}

TEST(CrbDevice, StartWithoutTheLocalityIsRefused) {
  CrbDevice crb;
  write_buffer(crb, kGetRandom);
  write32(crb, kCtrlStart, kCtrlStartInvoke);
  EXPECT_FALSE(crb.command_waiting());
  EXPECT_EQ(read32(crb, kCtrlStart), 0u);
  EXPECT_GT(crb.guest_errors(), 0u);
}

TEST(CrbDevice, CommandLengthsOutsideTheBufferGetACommandSizeError) {
  for (uint32_t size : {0u, 9u, static_cast<uint32_t>(kDataBufferSize) + 1, 0xffffffffu}) {
    CrbDevice crb;
    request_locality(crb);
    std::vector<uint8_t> command = kGetRandom;
    command[2] = static_cast<uint8_t>(size >> 24);
    command[3] = static_cast<uint8_t>(size >> 16);
    command[4] = static_cast<uint8_t>(size >> 8);
    command[5] = static_cast<uint8_t>(size);
    write_buffer(crb, command);
    write32(crb, kCtrlStart, kCtrlStartInvoke);
    EXPECT_FALSE(crb.command_waiting()) << size;
    EXPECT_EQ(read32(crb, kCtrlStart), 0u) << size;
    EXPECT_EQ(response_code(crb), kTpmRcCommandSize) << size;
  }
}

TEST(CrbDevice, AFullBufferCommandIsForwardedWhole) {
  CrbDevice crb;
  request_locality(crb);
  std::vector<uint8_t> command(kDataBufferSize, 0x5a);
  command[0] = 0x80;
  command[1] = 0x01;
  command[2] = 0;
  command[3] = 0;
  command[4] = static_cast<uint8_t>(kDataBufferSize >> 8);
  command[5] = static_cast<uint8_t>(kDataBufferSize);
  for (size_t i = 0; i < command.size(); i += 8) crb.mmio_write(kDataBuffer + i, std::span(command).subspan(i, 8));
  write32(crb, kCtrlStart, kCtrlStartInvoke);
  auto taken = crb.take_command();
  ASSERT_TRUE(taken);
  EXPECT_EQ(*taken, command);
}

TEST(CrbDevice, AFailedEngineAnswersEveryCommandWithFailure) {
  CrbDevice crb;
  request_locality(crb);
  write_buffer(crb, kGetRandom);
  write32(crb, kCtrlStart, kCtrlStartInvoke);
  ASSERT_TRUE(crb.take_command());
  crb.fail();
  EXPECT_EQ(read32(crb, kCtrlStart), 0u);
  EXPECT_EQ(read32(crb, kCtrlSts) & kCtrlStsFatal, kCtrlStsFatal);
  EXPECT_EQ(response_code(crb), kTpmRcFailure);
  write_buffer(crb, kGetRandom);
  write32(crb, kCtrlStart, kCtrlStartInvoke);
  EXPECT_FALSE(crb.command_waiting());
  EXPECT_EQ(response_code(crb), kTpmRcFailure);
}

TEST(CrbDevice, AnOversizedResponseFailsTheDevice) {
  CrbDevice crb;
  request_locality(crb);
  write_buffer(crb, kGetRandom);
  write32(crb, kCtrlStart, kCtrlStartInvoke);
  ASSERT_TRUE(crb.take_command());
  crb.complete(std::vector<uint8_t>(kDataBufferSize + 1, 0));
  EXPECT_TRUE(crb.failed());
  EXPECT_EQ(response_code(crb), kTpmRcFailure);
}

TEST(CrbDevice, BadWidthsAndOffsetsAreRefused) {
  CrbDevice crb;
  uint8_t three[3] = {1, 2, 3};
  crb.mmio_read(0, three);
  EXPECT_EQ(three[0], 0xff);
  uint8_t four[4] = {};
  crb.mmio_read(kCrbSize - 2, four);  // straddles the end
  EXPECT_EQ(four[0], 0xff);
  crb.mmio_read(~uint64_t{0} - 1, four);  // offset+length wraps
  EXPECT_EQ(four[3], 0xff);
  crb.mmio_write(~uint64_t{0} - 1, std::span<const uint8_t>(four));
  const uint64_t before = crb.guest_errors();
  // A byte write to a control register, a word write to a read-only one.
  const uint8_t one = 1;
  crb.mmio_write(kLocCtrl, std::span<const uint8_t>(&one, 1));
  EXPECT_EQ(read32(crb, kLocState) & kLocStateAssigned, 0u);
  write32(crb, kCtrlCmdLaddr, 0x1000);
  EXPECT_EQ(read32(crb, kCtrlCmdLaddr), kCrbBase + kDataBuffer);
  write32(crb, kCtrlCmdSize, 0xffffffff);
  EXPECT_EQ(read32(crb, kCtrlCmdSize), kDataBufferSize);
  EXPECT_EQ(crb.guest_errors(), before + 3);
}

TEST(CrbDevice, GarbageInEveryWordNeverStartsAnImpossibleCommand) {
  CrbDevice crb;
  for (uint64_t off = 0; off < kCrbSize; off += 4) write32(crb, off, 0xffffffff);
  // The buffer now says size 0xffffffff: refused, whatever the registers were set to.
  write32(crb, kLocCtrl, kLocCtrlRequest);
  write32(crb, kCtrlStart, kCtrlStartInvoke);
  EXPECT_FALSE(crb.command_waiting());
  EXPECT_EQ(response_code(crb), kTpmRcCommandSize);
  EXPECT_EQ(read32(crb, kCtrlCmdSize), kDataBufferSize);
  EXPECT_EQ(read32(crb, 0x1000), 0u);  // locality 1 is not emulated
}

}  // namespace
}  // namespace bulwark::tpm

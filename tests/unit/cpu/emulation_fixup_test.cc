#include "monitor/cpu/emulation_fixup.h"

#include <gtest/gtest.h>

#include <vector>

namespace bulwark::cpu {
namespace {

struct Case {
  std::vector<uint8_t> bytes;
  FixupKind kind;
  uint8_t length;
};

TEST(EmulationFixup, DecodesOnlyTheInstructionsTheMonitorCompletes) {
  const Case cases[] = {
      {{0xcc}, FixupKind::kInt3, 1},
      {{0x9b, 0x90}, FixupKind::kFwait, 1},
      {{0x0f, 0x01, 0xca}, FixupKind::kClac, 3},
      {{0x0f, 0x01, 0xcb}, FixupKind::kStac, 3},
      {{0x0f, 0x01, 0xf8}, FixupKind::kSwapgs, 3},
      {{0x48, 0x0f, 0xc7, 0x0e}, FixupKind::kNone, 0},  // cmpxchg16b: stops the VM
      {{0x0f, 0xae, 0x27}, FixupKind::kNone, 0},        // xsave
      {{0x0f, 0x01}, FixupKind::kNone, 0},              // truncated
      {{}, FixupKind::kNone, 0},
  };
  for (const Case& c : cases) {
    const Fixup f = decode_emulation_fixup(c.bytes);
    EXPECT_EQ(f.kind, c.kind) << fixup_name(c.kind);
    EXPECT_EQ(f.length, c.length) << fixup_name(c.kind);
  }
}

TEST(EmulationFailureBytes, ReadsLengthAndBytesAndStaysInsideTheData) {
  uint64_t data[4] = {1, 0, 0, 0};
  auto* raw = reinterpret_cast<uint8_t*>(&data[1]);
  raw[0] = 3;
  raw[1] = 0x0f;
  raw[2] = 0x01;
  raw[3] = 0xca;
  auto bytes = emulation_failure_bytes(3, data);
  ASSERT_EQ(bytes.size(), 3u);
  EXPECT_EQ(bytes[2], 0xca);
  // A claimed length longer than what ndata covers is cut to the data present.
  raw[0] = 200;
  EXPECT_EQ(emulation_failure_bytes(2, data).size(), 7u);
  EXPECT_EQ(emulation_failure_bytes(4, data).size(), 15u);
  // No bytes flag, or too few words: nothing.
  data[0] = 0;
  EXPECT_TRUE(emulation_failure_bytes(3, data).empty());
  data[0] = 1;
  EXPECT_TRUE(emulation_failure_bytes(1, data).empty());
  EXPECT_TRUE(emulation_failure_bytes(99, std::span<const uint64_t>(data, 1)).empty());
}

}  // namespace
}  // namespace bulwark::cpu

namespace bulwark::cpu {
namespace {

TEST(LeadingNopLength, RecognisesTheNopFormsKernelsPatchIntoHandlerEntries) {
  EXPECT_EQ(leading_nop_length(std::vector<uint8_t>{0x90, 0xcc}), 1);
  EXPECT_EQ(leading_nop_length(std::vector<uint8_t>{0x0f, 0x1f, 0x00, 0x48}), 3);
  EXPECT_EQ(leading_nop_length(std::vector<uint8_t>{0x0f, 0x1f, 0x44, 0x00, 0x00}), 5);
  EXPECT_EQ(leading_nop_length(std::vector<uint8_t>{0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00}), 6);
  EXPECT_EQ(leading_nop_length(std::vector<uint8_t>{0xf3, 0x0f, 0x1e, 0xfa}), 4);
  // Not NOPs, or cut short: the monitor must single-step instead of skipping.
  EXPECT_EQ(leading_nop_length(std::vector<uint8_t>{0x0f, 0x01, 0xca}), 0);  // CLAC
  EXPECT_EQ(leading_nop_length(std::vector<uint8_t>{0x0f, 0x1f, 0x44, 0x00}), 0);
  EXPECT_EQ(leading_nop_length(std::vector<uint8_t>{}), 0);
}

}  // namespace
}  // namespace bulwark::cpu

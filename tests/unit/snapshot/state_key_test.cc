// The per-VM key: derived from the host key and the VM id, so one VM's key is useless for
// another VM's snapshot.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "snapshot_fixture.h"

namespace bulwark::snapshot {
namespace {

using ::testing::HasSubstr;
using testing::host_key;
using testing::key_for;

std::vector<uint8_t> bytes_of(std::span<const uint8_t> span) { return {span.begin(), span.end()}; }

TEST(StateKey, MatchesHkdfSha256WithTheDocumentedInfo) {
  // openssl kdf -keylen 64 -kdfopt digest:SHA256 -kdfopt hexkey:11...11 (32 bytes)
  //   -kdfopt hexinfo:<"bulwark snapshot v1" NUL "vm-1"> HKDF
  const std::vector<uint8_t> expected = {
      0x4B, 0x7F, 0xED, 0x1F, 0xC6, 0x1A, 0x24, 0xF2, 0xF8, 0x33, 0x18, 0xD9, 0x21, 0x39, 0x71, 0xC7,
      0xCB, 0x56, 0x2F, 0x72, 0xE6, 0x7C, 0x0C, 0xE0, 0x83, 0x69, 0x3C, 0x6A, 0x03, 0xB7, 0xD2, 0x8D,
      0xBB, 0x7C, 0x41, 0x20, 0xA9, 0x11, 0xF4, 0xA1, 0xDF, 0x6A, 0x6B, 0x00, 0xFA, 0x10, 0x42, 0xF9,
      0xD7, 0xDE, 0x18, 0x51, 0x0A, 0x38, 0xF2, 0x62, 0x3F, 0x16, 0x0C, 0x96, 0x52, 0xE7, 0xEB, 0xC9};
  const StateKey key = key_for("vm-1");
  EXPECT_EQ(bytes_of(key.state_mac_key()), std::vector<uint8_t>(expected.begin(), expected.begin() + 32));
  EXPECT_EQ(bytes_of(key.chunk_mac_key()), std::vector<uint8_t>(expected.begin() + 32, expected.end()));
  EXPECT_EQ(key.vm_id(), "vm-1");
}

TEST(StateKey, DiffersPerVmAndPerHostKey) {
  const StateKey a = key_for("vm-1"), b = key_for("vm-2"), c = key_for("vm-1", 0x22);
  EXPECT_NE(bytes_of(a.state_mac_key()), bytes_of(b.state_mac_key()));
  EXPECT_NE(bytes_of(a.state_mac_key()), bytes_of(c.state_mac_key()));
  EXPECT_NE(bytes_of(a.chunk_mac_key()), bytes_of(b.chunk_mac_key()));
  EXPECT_NE(bytes_of(a.state_mac_key()), bytes_of(a.chunk_mac_key()));
}

TEST(StateKey, RefusesAShortHostKey) {
  auto key = StateKey::derive(std::vector<uint8_t>(31, 1), "vm-1");
  ASSERT_FALSE(key.ok());
  EXPECT_THAT(key.error().message(), HasSubstr("snapshot host key: expected 32 to 4096 bytes, got 31"));
}

TEST(StateKey, RefusesABadVmId) {
  for (const char* id : {"", "vm/1", "vm.1", "vm 1"}) {
    auto key = StateKey::derive(host_key(), id);
    ASSERT_FALSE(key.ok()) << id;
    EXPECT_THAT(key.error().message(), HasSubstr("VM id"));
  }
  EXPECT_FALSE(StateKey::derive(host_key(), std::string(65, 'a')).ok());
  EXPECT_TRUE(StateKey::derive(host_key(), std::string(64, 'a')).ok());
}

TEST(StateKey, MovedFromKeyIsWiped) {
  StateKey a = key_for("vm-1");
  const std::vector<uint8_t> before = bytes_of(a.state_mac_key());
  StateKey b = std::move(a);
  EXPECT_EQ(bytes_of(b.state_mac_key()), before);
  EXPECT_EQ(bytes_of(a.state_mac_key()), std::vector<uint8_t>(32, 0));  // NOLINT: checks the moved-from state
  EXPECT_EQ(bytes_of(a.chunk_mac_key()), std::vector<uint8_t>(32, 0));
}

}  // namespace
}  // namespace bulwark::snapshot

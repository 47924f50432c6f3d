// Every command kind survives encode -> decode unchanged, at its bounds too, and the bytes are
// the documented ones (api/command/README.md): what the launcher sees is what bulwark-api meant.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "api/command/command.h"
#include "command_examples.h"
#include "message_builder.h"

namespace bulwark::api {
namespace {

TEST(ApiCommandRoundTrip, EveryKindWithNonDefaultValues) {
  std::set<size_t> kinds_seen;
  for (const auto& example : test::command_examples()) {
    SCOPED_TRACE(example.name);
    const std::vector<uint8_t> bytes = encode_command(example.command);
    ASSERT_GE(bytes.size(), 6u);
    EXPECT_EQ(bytes[4] | (bytes[5] << 8), example.kind);
    auto decoded = decode_command(bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message();
    EXPECT_EQ(*decoded, example.command);
    EXPECT_EQ(command_name(*decoded), example.name);
    // Canonical: the decoder accepts exactly what the encoder writes.
    EXPECT_EQ(encode_command(*decoded), bytes);
    kinds_seen.insert(example.command.index());
  }
  EXPECT_EQ(kinds_seen.size(), std::variant_size_v<Command>);
}

TEST(ApiCommandRoundTrip, ValuesAtTheirBounds) {
  const std::string path(kMaxPathBytes, 'p');
  // Multi-byte UTF-8 counts in bytes: 1365 x 3 bytes = 4095.
  std::string utf8_path;
  for (int i = 0; i < 1365; ++i) utf8_path += "\xe2\x82\xac";  // U+20AC
  const uint64_t max_tokens = uint64_t{1} << 53;
  const std::vector<Command> commands = {
      PutBootSource{path, utf8_path, std::string(kMaxBootArgsBytes, 'a')},
      PutBootSource{"k", "", ""},
      PutMachineConfig{32, 1048576, true, false, std::string(kMaxShortTextBytes, 'c')},
      PutMachineConfig{1, 1, false, false, ""},
      PutDrive{std::string(kMaxIdBytes, 'd'), path, false, false, "",
               RateLimiter{TokenBucket{max_tokens, 3600000, max_tokens}, TokenBucket{}}},
      PutDrive{"A-z_09", "\xf0\x9f\x92\xbe.img", false, false, "raw", RateLimiter{}},
      PutNetworkInterface{std::string(15, 'n'), "", std::string(kMaxShortTextBytes, 'h'), {}, {}},
      Shutdown{1},
      Shutdown{3600},
      SetVmState{false},
      PatchNetworkInterface{"x", RateLimiter{TokenBucket{0, 0, max_tokens}, {}}, RateLimiter{}},
      PutLogger{"", "", false, false, ""},
      PutLogger{path, "Warning", false, true, std::string(64, 'm')},
      PutMetrics{"m"},
  };
  for (const Command& command : commands) {
    SCOPED_TRACE(command_name(command));
    const auto bytes = encode_command(command);
    EXPECT_LE(bytes.size(), kMaxMessageBytes);
    auto decoded = decode_command(bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message();
    EXPECT_EQ(*decoded, command);
    EXPECT_EQ(encode_command(*decoded), bytes);
  }
}

// The README's layout, byte for byte: a reordered variant or a changed tag shows up here.
TEST(ApiCommandRoundTrip, BytesAreTheDocumentedLayout) {
  const std::vector<uint8_t> paused = {'B', 'W', 'C', '1', 10, 0, 1, 0, 1, 0, 0, 0, 1};
  EXPECT_EQ(encode_command(SetVmState{true}), paused);
  EXPECT_EQ(encode_command(InstanceStart{}), (std::vector<uint8_t>{'B', 'W', 'C', '1', 6, 0}));
  EXPECT_EQ(
      encode_command(Shutdown{0x0102}),
      (std::vector<uint8_t>{'B', 'W', 'C', '1', 13, 0, 1, 0, 8, 0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0}));
  // The hand-built bytes of a drive with one bucket decode to the same drive.
  auto built = test::MessageBuilder::command(3)
                   .text(1, "rootfs")
                   .text(2, "rootfs.ext4")
                   .boolean(3, 1)
                   .boolean(4, 0)
                   .text(5, "raw")
                   .nested(6, test::MessageBuilder::record().nested(
                                  2, test::MessageBuilder::bucket(100, 1000, 5)));
  const Command drive =
      PutDrive{"rootfs", "rootfs.ext4", true,
               false,    "raw",         RateLimiter{std::nullopt, TokenBucket{100, 1000, 5}}};
  EXPECT_EQ(encode_command(drive), built.bytes());
  auto decoded = decode_command(built.bytes());
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  EXPECT_EQ(*decoded, drive);
}

TEST(ApiCommandRoundTrip, BucketWithoutSizeNeedsNoRefillTime) {
  // Size 0 is "no limit": a zero refill time is Firecracker's default, not an error.
  const Command entropy = PutEntropy{RateLimiter{TokenBucket{0, 0, 0}, TokenBucket{0, 0, 7}}};
  auto decoded = decode_command(encode_command(entropy));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  EXPECT_EQ(*decoded, entropy);
}

}  // namespace
}  // namespace bulwark::api

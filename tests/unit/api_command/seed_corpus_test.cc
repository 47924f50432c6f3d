// The api_command fuzz target's seed corpus (fuzz/corpus/api_command/) holds the current
// encoding of every example command and reply, so seeds cannot drift from the format. Run with
// BULWARK_WRITE_SEEDS=1 to (re)write them. Input byte 0 picks the decoder: even = command,
// odd = reply (fuzz/api_command_fuzzer.cc).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "api/command/command.h"
#include "command_examples.h"
#include "message_builder.h"

namespace bulwark::api {
namespace {

using test::MessageBuilder;

struct Seed {
  std::string file;
  std::vector<uint8_t> bytes;  // with the selector byte
};

std::vector<uint8_t> with_selector(uint8_t selector, const std::vector<uint8_t>& message) {
  std::vector<uint8_t> out{selector};
  out.insert(out.end(), message.begin(), message.end());
  return out;
}

std::vector<Seed> seeds() {
  std::vector<Seed> out;
  for (const auto& example : test::command_examples())
    out.push_back({"command_" + example.name, with_selector(0, encode_command(example.command))});
  for (const auto& example : test::reply_examples())
    out.push_back({"reply_" + example.name, with_selector(1, encode_reply(example.reply))});
  // Refused inputs near the accepted ones, so the fuzzer starts at each check.
  out.push_back(
      {"refused_length_2p32",
       with_selector(0, MessageBuilder::command(1).field_header(1, 0xffffffff).raw("vm").bytes())});
  out.push_back({"refused_nested_refill",
                 with_selector(0, MessageBuilder::command(5)
                                      .nested(1, MessageBuilder::record().nested(
                                                     1, MessageBuilder::bucket(5, 0, 0)))
                                      .bytes())});
  out.push_back(
      {"refused_drive_id_charset", with_selector(0, MessageBuilder::command(14)
                                                        .text(1, "../etc")
                                                        .nested(2, MessageBuilder::record())
                                                        .bytes())});
  out.push_back(
      {"refused_reply_status",
       with_selector(1, MessageBuilder::reply().u64(1, 302).u64(2, 0).text(3, "").bytes())});
  return out;
}

const std::filesystem::path kCorpus =
    std::filesystem::path(BULWARK_SOURCE_DIR) / "fuzz" / "corpus" / "api_command";

TEST(ApiCommandSeeds, CorpusHoldsTheCurrentEncodings) {
  const char* write = std::getenv("BULWARK_WRITE_SEEDS");
  if (write != nullptr && std::string(write) == "1") {
    std::filesystem::create_directories(kCorpus);
    for (const auto& seed : seeds()) {
      std::ofstream out(kCorpus / seed.file, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(seed.bytes.data()),
                static_cast<std::streamsize>(seed.bytes.size()));
      ASSERT_TRUE(out.good()) << seed.file;
    }
  }
  for (const auto& seed : seeds()) {
    SCOPED_TRACE(seed.file);
    std::ifstream in(kCorpus / seed.file, std::ios::binary);
    ASSERT_TRUE(in.good()) << "missing; run api_command_test with BULWARK_WRITE_SEEDS=1";
    const std::vector<uint8_t> stored((std::istreambuf_iterator<char>(in)),
                                      std::istreambuf_iterator<char>());
    EXPECT_EQ(stored, seed.bytes) << "stale; run api_command_test with BULWARK_WRITE_SEEDS=1";
  }
}

}  // namespace
}  // namespace bulwark::api

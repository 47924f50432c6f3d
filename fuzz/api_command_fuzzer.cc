// The command channel's decoders (api/command): decode_command, as the launcher runs it on what
// a possibly compromised bulwark-api sends, and decode_reply, as bulwark-api runs it on the
// launcher's answers. Input byte 0 picks the decoder (even: command, odd: reply), the rest is
// the message. Whatever decodes must encode back to exactly the same bytes and decode again to
// the same value: the decoder accepts only the encoder's canonical form.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "api/command/command.h"

namespace {

template <typename T, typename Encode, typename Decode>
void check_round_trip(std::span<const uint8_t> message, const T& value, Encode encode,
                      Decode decode) {
  const std::vector<uint8_t> again = encode(value);
  if (again.size() > bulwark::api::kMaxMessageBytes) std::abort();
  if (!std::equal(again.begin(), again.end(), message.begin(), message.end())) std::abort();
  auto redecoded = decode(std::span<const uint8_t>(again));
  if (!redecoded.ok() || !(*redecoded == value)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bulwark::api;
  if (size < 1) return 0;
  const std::span<const uint8_t> message(data + 1, size - 1);
  if ((data[0] & 1) == 0) {
    auto command = decode_command(message);
    if (!command.ok()) return 0;
    if (command_name(*command) == nullptr) std::abort();
    check_round_trip(
        message, *command, [](const Command& c) { return encode_command(c); },
        [](std::span<const uint8_t> b) { return decode_command(b); });
  } else {
    auto reply = decode_reply(message);
    if (!reply.ok()) return 0;
    check_round_trip(
        message, *reply, [](const Reply& r) { return encode_reply(r); },
        [](std::span<const uint8_t> b) { return decode_reply(b); });
  }
  return 0;
}

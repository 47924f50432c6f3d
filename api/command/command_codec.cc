// encode_command / decode_command: the launcher decodes what a possibly compromised bulwark-api
// sends. Framing in wire_record.cc, values in wire_fields.h, tags in command_schema.h.
#include <array>
#include <utility>

#include "api/command/command.h"
#include "api/command/command_schema.h"

namespace bulwark::api {
namespace {

using DecodeKind = Result<Command> (*)(std::span<const uint8_t>);

template <size_t I>
Result<Command> decode_kind(std::span<const uint8_t> fields) {
  using T = std::variant_alternative_t<I, Command>;
  auto decoded = wire::decode_fields<T>(fields, wire::Schema<T>::kName);
  if (!decoded) return decoded.error();
  return Command(std::in_place_index<I>, std::move(*decoded));
}

template <size_t... I>
constexpr std::array<DecodeKind, sizeof...(I)> decoders(std::index_sequence<I...>) {
  return {&decode_kind<I>...};
}

// Index = wire kind - 1 = the variant's alternative index.
constexpr auto kDecoders = decoders(std::make_index_sequence<std::variant_size_v<Command>>());

}  // namespace

std::vector<uint8_t> encode_command(const Command& command) {
  std::vector<uint8_t> out;
  wire::RecordWriter(out).message_header(wire::kCommandMagic,
                                         static_cast<uint16_t>(command.index() + 1));
  std::visit([&out](const auto& c) { wire::encode_fields(c, out); }, command);
  return out;
}

Result<Command> decode_command(std::span<const uint8_t> bytes) {
  auto kind = wire::read_message_header(bytes, wire::kCommandMagic, "command");
  if (!kind) return kind.error();
  if (*kind == 0 || *kind > kDecoders.size())
    return Error("command: unknown kind " + std::to_string(*kind));
  return kDecoders[*kind - 1](bytes.subspan(wire::kMessageHeaderBytes));
}

}  // namespace bulwark::api

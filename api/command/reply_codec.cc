// encode_reply / decode_reply: bulwark-api decodes the launcher's answers. The launcher is
// trusted more than bulwark-api, but the reply still only reaches the API client through these
// checks (a known status, a body kind, text without terminal controls).
#include <algorithm>
#include <array>

#include "api/command/command.h"
#include "api/command/wire_fields.h"

namespace bulwark::api {
namespace wire {
namespace {

// The HTTP statuses bulwark-api answers with (api/command/README.md).
constexpr std::array<uint16_t, 13> kReplyStatuses = {200, 204, 400, 404, 405, 408, 409,
                                                     413, 500, 501, 502, 503, 504};
constexpr TextRule kReplyBodyRule{0, kMaxReplyBodyBytes, TextCharset::kMultiline};

// Reply as it is on the wire: integers are u64 fields.
struct ReplyFields {
  uint64_t status = 0;
  uint64_t body_kind = 0;
  std::string body;
};

}  // namespace

template <>
struct Schema<ReplyFields> {
  template <typename Self, typename V>
  static void fields(Self& r, V& v) {
    v.u64(1, "status", r.status, U64Range{100, 599});
    v.u64(2, "body_kind", r.body_kind, U64Range{0, static_cast<uint64_t>(Reply::Body::kFault)});
    v.text(3, "body", r.body, kReplyBodyRule);
  }
  static std::optional<std::string> check(const ReplyFields& reply) {
    if (std::find(kReplyStatuses.begin(), kReplyStatuses.end(), reply.status) ==
        kReplyStatuses.end())
      return "status: " + std::to_string(reply.status) + " is not a status the API answers with";
    if (reply.body_kind == static_cast<uint64_t>(Reply::Body::kNone) && !reply.body.empty())
      return "body: " + std::to_string(reply.body.size()) + " bytes with body_kind none";
    return std::nullopt;
  }
};

}  // namespace wire

std::vector<uint8_t> encode_reply(const Reply& reply) {
  std::vector<uint8_t> out;
  wire::RecordWriter(out).message_header(wire::kReplyMagic, 0);
  wire::encode_fields(
      wire::ReplyFields{reply.status, static_cast<uint64_t>(reply.body_kind), reply.body}, out);
  return out;
}

Result<Reply> decode_reply(std::span<const uint8_t> bytes) {
  auto kind = wire::read_message_header(bytes, wire::kReplyMagic, "reply");
  if (!kind) return kind.error();
  if (*kind != 0) return Error("reply: kind " + std::to_string(*kind) + ", must be 0");
  auto fields =
      wire::decode_fields<wire::ReplyFields>(bytes.subspan(wire::kMessageHeaderBytes), "Reply");
  if (!fields) return fields.error();
  Reply reply;
  reply.status = static_cast<uint16_t>(fields->status);
  reply.body_kind = static_cast<Reply::Body>(fields->body_kind);
  reply.body = std::move(fields->body);
  return reply;
}

}  // namespace bulwark::api

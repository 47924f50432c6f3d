// Parsers for the payloads both sides read: u64 (features, counts, REPLY_ACK status), vring
// state and the device config; a frontend applies them to a backend's replies. The payloads only
// a backend reads (vring address, vring fd) are in request_parsers.cc, the memory table in
// memory_table_parser.cc. Each checks the exact size and fds first; errors name the request.
#include <string>

#include "bulwark/common/byte_reader.h"
#include "devices/vhost_user/protocol.h"
#include "devices/vhost_user/wire_format.h"

namespace bulwark::vhost_user {

using wire::expect_fds;
using wire::expect_size;
using wire::field;
using wire::named;

Result<uint64_t> parse_u64(const Message& message) {
  BULWARK_TRY(expect_size(message, wire::kU64Size));
  BULWARK_TRY(expect_fds(message, 0));
  return field<uint64_t>(message.payload, 0);
}

Result<VringState> parse_vring_state(const Message& message) {
  BULWARK_TRY(expect_size(message, wire::kVringStateSize));
  BULWARK_TRY(expect_fds(message, 0));
  return VringState{field<uint32_t>(message.payload, 0), field<uint32_t>(message.payload, 4)};
}

Result<DeviceConfig> parse_device_config(const Message& message) {
  BULWARK_TRY(wire::expect_header(message, wire::kConfigHeader));
  BULWARK_TRY(expect_fds(message, 0));
  DeviceConfig config;
  config.offset = field<uint32_t>(message.payload, 0);
  config.size = field<uint32_t>(message.payload, 4);
  config.flags = field<uint32_t>(message.payload, 8);
  if (config.size > kMaxConfigSize) {
    return Error(named(message) + ": config size " + std::to_string(config.size) + ", at most 256");
  }
  if (!range_within(config.offset, config.size, kMaxConfigSize)) {
    return Error(named(message) + ": config range beyond 256 bytes");
  }
  BULWARK_TRY(expect_size(message, wire::kConfigHeader + config.size));
  config.bytes.assign(message.payload.begin() + wire::kConfigHeader, message.payload.end());
  return config;
}

}  // namespace bulwark::vhost_user

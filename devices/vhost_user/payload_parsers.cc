// Parsers for the fixed-size payloads (u64, vring state, vring address, vring fd) and the
// device config. Each checks the exact size and fds first; errors name the request.
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

Result<VringAddress> parse_vring_address(const Message& message) {
  BULWARK_TRY(expect_size(message, wire::kVringAddressSize));
  BULWARK_TRY(expect_fds(message, 0));
  VringAddress address;
  address.index = field<uint32_t>(message.payload, 0);
  address.flags = field<uint32_t>(message.payload, 4);
  address.desc_user_addr = field<uint64_t>(message.payload, 8);
  address.used_user_addr = field<uint64_t>(message.payload, 16);
  address.avail_user_addr = field<uint64_t>(message.payload, 24);
  address.log_guest_addr = field<uint64_t>(message.payload, 32);
  return address;
}

Result<VringFd> parse_vring_fd(const Message& message) {
  BULWARK_TRY(expect_size(message, wire::kU64Size));
  const uint64_t value = field<uint64_t>(message.payload, 0);
  if ((value & ~(kVringIndexMask | kVringNoFdFlag)) != 0) {
    return Error(named(message) + ": unknown bits in " + std::to_string(value));
  }
  VringFd vring;
  vring.index = static_cast<uint8_t>(value & kVringIndexMask);
  vring.no_fd = (value & kVringNoFdFlag) != 0;
  BULWARK_TRY(expect_fds(message, vring.no_fd ? 0 : 1));
  vring.fd = vring.no_fd ? -1 : message.fds[0].get();
  return vring;
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

// Parsers for the fixed-size payloads only a backend reads, in requests from the frontend: the
// vring address (SET_VRING_ADDR) and the vring fd (SET_VRING_KICK, _CALL, _ERR). Apart from
// payload_parsers.cc, which a frontend also applies to replies, so the fuzz targets' coverage
// rows count each side's parsers (fuzz/README.md). Each checks the exact size and fds first;
// errors name the request.
#include <string>

#include "bulwark/common/byte_reader.h"
#include "devices/vhost_user/protocol.h"
#include "devices/vhost_user/wire_format.h"

namespace bulwark::vhost_user {

using wire::expect_fds;
using wire::expect_size;
using wire::field;
using wire::named;

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

}  // namespace bulwark::vhost_user

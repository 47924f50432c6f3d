#include "devices/vhost_user/protocol.h"

#include <cstring>
#include <string>

#include "bulwark/common/byte_reader.h"

namespace bulwark::vhost_user {

namespace {

constexpr size_t kVringAddressSize = 40;
constexpr size_t kMemoryRegionSize = 32;
constexpr size_t kMemoryTableHeader = 8;
constexpr size_t kConfigHeader = 12;

std::string named(const Message& message) { return request_name(message.request); }

Status expect_size(const Message& message, size_t size) {
  if (message.payload.size() != size) {
    return Error(named(message) + ": payload of " + std::to_string(message.payload.size()) +
                 " bytes, expected " + std::to_string(size));
  }
  return ok_status();
}

Status expect_fds(const Message& message, size_t count) {
  if (message.fds.size() != count) {
    return Error(named(message) + ": carries " + std::to_string(message.fds.size()) +
                 " fds, expected " + std::to_string(count));
  }
  return ok_status();
}

template <typename T>
T field(const std::vector<uint8_t>& bytes, size_t offset) {
  // Callers checked the payload size first.
  return *read_le<T>(std::span<const uint8_t>(bytes), offset);
}

template <typename T>
void put(std::vector<uint8_t>& bytes, T value) {
  for (size_t i = 0; i < sizeof(T); ++i) bytes.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

Message header_only(Request request, bool need_reply) {
  Message message;
  message.request = static_cast<uint32_t>(request);
  message.flags = kVersion1 | (need_reply ? kNeedReplyFlag : 0);
  return message;
}

}  // namespace

const char* request_name(uint32_t request) {
  switch (static_cast<Request>(request)) {
#define BULWARK_REQUEST_NAME(name) \
  case Request::name:              \
    return #name;
    BULWARK_REQUEST_NAME(GET_FEATURES)
    BULWARK_REQUEST_NAME(SET_FEATURES)
    BULWARK_REQUEST_NAME(SET_OWNER)
    BULWARK_REQUEST_NAME(RESET_OWNER)
    BULWARK_REQUEST_NAME(SET_MEM_TABLE)
    BULWARK_REQUEST_NAME(SET_LOG_BASE)
    BULWARK_REQUEST_NAME(SET_LOG_FD)
    BULWARK_REQUEST_NAME(SET_VRING_NUM)
    BULWARK_REQUEST_NAME(SET_VRING_ADDR)
    BULWARK_REQUEST_NAME(SET_VRING_BASE)
    BULWARK_REQUEST_NAME(GET_VRING_BASE)
    BULWARK_REQUEST_NAME(SET_VRING_KICK)
    BULWARK_REQUEST_NAME(SET_VRING_CALL)
    BULWARK_REQUEST_NAME(SET_VRING_ERR)
    BULWARK_REQUEST_NAME(GET_PROTOCOL_FEATURES)
    BULWARK_REQUEST_NAME(SET_PROTOCOL_FEATURES)
    BULWARK_REQUEST_NAME(GET_QUEUE_NUM)
    BULWARK_REQUEST_NAME(SET_VRING_ENABLE)
    BULWARK_REQUEST_NAME(SEND_RARP)
    BULWARK_REQUEST_NAME(NET_SET_MTU)
    BULWARK_REQUEST_NAME(SET_BACKEND_REQ_FD)
    BULWARK_REQUEST_NAME(IOTLB_MSG)
    BULWARK_REQUEST_NAME(SET_VRING_ENDIAN)
    BULWARK_REQUEST_NAME(GET_CONFIG)
    BULWARK_REQUEST_NAME(SET_CONFIG)
    BULWARK_REQUEST_NAME(CREATE_CRYPTO_SESSION)
    BULWARK_REQUEST_NAME(CLOSE_CRYPTO_SESSION)
    BULWARK_REQUEST_NAME(POSTCOPY_ADVISE)
    BULWARK_REQUEST_NAME(POSTCOPY_LISTEN)
    BULWARK_REQUEST_NAME(POSTCOPY_END)
    BULWARK_REQUEST_NAME(GET_INFLIGHT_FD)
    BULWARK_REQUEST_NAME(SET_INFLIGHT_FD)
    BULWARK_REQUEST_NAME(GPU_SET_SOCKET)
    BULWARK_REQUEST_NAME(RESET_DEVICE)
    BULWARK_REQUEST_NAME(VRING_KICK)
    BULWARK_REQUEST_NAME(GET_MAX_MEM_SLOTS)
    BULWARK_REQUEST_NAME(ADD_MEM_REG)
    BULWARK_REQUEST_NAME(REM_MEM_REG)
    BULWARK_REQUEST_NAME(SET_STATUS)
    BULWARK_REQUEST_NAME(GET_STATUS)
#undef BULWARK_REQUEST_NAME
  }
  return "unknown request";
}

Status check_header(const Message& message) {
  if ((message.flags & kVersionMask) != kVersion1) {
    return Error(named(message) + ": protocol version " + std::to_string(message.flags & kVersionMask) +
                 ", expected 1");
  }
  if ((message.flags & ~(kVersionMask | kReplyFlag | kNeedReplyFlag)) != 0) {
    return Error(named(message) + ": unknown header flags");
  }
  return ok_status();
}

Result<uint64_t> parse_u64(const Message& message) {
  BULWARK_TRY(expect_size(message, 8));
  BULWARK_TRY(expect_fds(message, 0));
  return field<uint64_t>(message.payload, 0);
}

Result<VringState> parse_vring_state(const Message& message) {
  BULWARK_TRY(expect_size(message, 8));
  BULWARK_TRY(expect_fds(message, 0));
  return VringState{field<uint32_t>(message.payload, 0), field<uint32_t>(message.payload, 4)};
}

Result<VringAddress> parse_vring_address(const Message& message) {
  BULWARK_TRY(expect_size(message, kVringAddressSize));
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

Result<std::vector<MemoryRegion>> parse_memory_table(const Message& message) {
  if (message.payload.size() < kMemoryTableHeader) {
    return Error(named(message) + ": payload of " + std::to_string(message.payload.size()) +
                 " bytes is shorter than its header");
  }
  const uint32_t count = field<uint32_t>(message.payload, 0);
  if (count == 0 || count > kMaxMemoryRegions) {
    return Error(named(message) + ": " + std::to_string(count) + " regions, expected 1 to 8");
  }
  // The sender may pad the table to the protocol's maximum: accept exactly count or the maximum.
  const size_t exact = kMemoryTableHeader + count * kMemoryRegionSize;
  const size_t padded = kMemoryTableHeader + kMaxMemoryRegions * kMemoryRegionSize;
  if (message.payload.size() != exact && message.payload.size() != padded) {
    return Error(named(message) + ": payload of " + std::to_string(message.payload.size()) +
                 " bytes does not hold " + std::to_string(count) + " regions");
  }
  BULWARK_TRY(expect_fds(message, count));
  std::vector<MemoryRegion> regions;
  for (uint32_t i = 0; i < count; ++i) {
    const size_t at = kMemoryTableHeader + i * kMemoryRegionSize;
    MemoryRegion region;
    region.guest_phys_addr = field<uint64_t>(message.payload, at);
    region.memory_size = field<uint64_t>(message.payload, at + 8);
    region.userspace_addr = field<uint64_t>(message.payload, at + 16);
    region.mmap_offset = field<uint64_t>(message.payload, at + 24);
    const std::string which = named(message) + ": region " + std::to_string(i);
    if (region.memory_size == 0) return Error(which + " is empty");
    if (!checked_add(region.guest_phys_addr, region.memory_size) ||
        !checked_add(region.userspace_addr, region.memory_size) ||
        !checked_add(region.mmap_offset, region.memory_size)) {
      return Error(which + " wraps around the address space");
    }
    regions.push_back(region);
  }
  return regions;
}

Result<VringFd> parse_vring_fd(const Message& message) {
  BULWARK_TRY(expect_size(message, 8));
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
  if (message.payload.size() < kConfigHeader) {
    return Error(named(message) + ": payload of " + std::to_string(message.payload.size()) +
                 " bytes is shorter than its header");
  }
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
  BULWARK_TRY(expect_size(message, kConfigHeader + config.size));
  config.bytes.assign(message.payload.begin() + kConfigHeader, message.payload.end());
  return config;
}

Message make_request(Request request, std::span<const uint8_t> payload, bool need_reply) {
  Message message = header_only(request, need_reply);
  message.payload.assign(payload.begin(), payload.end());
  return message;
}

Message make_u64_request(Request request, uint64_t value, bool need_reply) {
  Message message = header_only(request, need_reply);
  put(message.payload, value);
  return message;
}

Message make_vring_state_request(Request request, VringState state, bool need_reply) {
  Message message = header_only(request, need_reply);
  put(message.payload, state.index);
  put(message.payload, state.num);
  return message;
}

Message make_vring_address_request(VringAddress address, bool need_reply) {
  Message message = header_only(Request::SET_VRING_ADDR, need_reply);
  put(message.payload, address.index);
  put(message.payload, address.flags);
  put(message.payload, address.desc_user_addr);
  put(message.payload, address.used_user_addr);
  put(message.payload, address.avail_user_addr);
  put(message.payload, address.log_guest_addr);
  return message;
}

Message make_memory_table_request(std::span<const MemoryRegion> regions, std::vector<UniqueFd> fds,
                                  bool need_reply) {
  Message message = header_only(Request::SET_MEM_TABLE, need_reply);
  put(message.payload, static_cast<uint32_t>(regions.size()));
  put(message.payload, uint32_t{0});
  for (const MemoryRegion& region : regions) {
    put(message.payload, region.guest_phys_addr);
    put(message.payload, region.memory_size);
    put(message.payload, region.userspace_addr);
    put(message.payload, region.mmap_offset);
  }
  message.fds = std::move(fds);
  return message;
}

Message make_vring_fd_request(Request request, uint8_t index, UniqueFd fd, bool need_reply) {
  Message message = header_only(request, need_reply);
  const bool no_fd = !fd.valid();
  put(message.payload, uint64_t{index} | (no_fd ? kVringNoFdFlag : 0));
  if (!no_fd) message.fds.push_back(std::move(fd));
  return message;
}

Message make_config_request(Request request, const DeviceConfig& config, bool need_reply) {
  Message message = header_only(request, need_reply);
  put(message.payload, config.offset);
  put(message.payload, config.size);
  put(message.payload, config.flags);
  message.payload.insert(message.payload.end(), config.bytes.begin(), config.bytes.end());
  return message;
}

Message make_reply(const Message& request, std::span<const uint8_t> payload) {
  Message reply;
  reply.request = request.request;
  reply.flags = kVersion1 | kReplyFlag;
  reply.payload.assign(payload.begin(), payload.end());
  return reply;
}

Message make_u64_reply(const Message& request, uint64_t value) {
  Message reply = make_reply(request, {});
  put(reply.payload, value);
  return reply;
}

Status check_reply_to(Request request, const Message& reply) {
  BULWARK_TRY(check_header(reply));
  if (reply.request != static_cast<uint32_t>(request)) {
    return Error(std::string("reply to ") + request_name(static_cast<uint32_t>(request)) +
                 " came as " + request_name(reply.request) + " (" + std::to_string(reply.request) + ")");
  }
  if (!reply.is_reply()) {
    return Error(std::string("reply to ") + request_name(reply.request) + " lacks the reply flag");
  }
  return ok_status();
}

}  // namespace bulwark::vhost_user

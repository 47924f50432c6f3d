// vhost-user: the messages between the monitor (frontend) and a device process (backend), as in
// QEMU's docs/interop/vhost-user.rst. Shared by both sides. Every message from the peer is
// untrusted: the parsers below check exact sizes, counts and the fds a request carries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"

namespace bulwark::vhost_user {

enum class Request : uint32_t {
  GET_FEATURES = 1,
  SET_FEATURES = 2,
  SET_OWNER = 3,
  RESET_OWNER = 4,
  SET_MEM_TABLE = 5,
  SET_LOG_BASE = 6,
  SET_LOG_FD = 7,
  SET_VRING_NUM = 8,
  SET_VRING_ADDR = 9,
  SET_VRING_BASE = 10,
  GET_VRING_BASE = 11,
  SET_VRING_KICK = 12,
  SET_VRING_CALL = 13,
  SET_VRING_ERR = 14,
  GET_PROTOCOL_FEATURES = 15,
  SET_PROTOCOL_FEATURES = 16,
  GET_QUEUE_NUM = 17,
  SET_VRING_ENABLE = 18,
  SEND_RARP = 19,
  NET_SET_MTU = 20,
  SET_BACKEND_REQ_FD = 21,
  IOTLB_MSG = 22,
  SET_VRING_ENDIAN = 23,
  GET_CONFIG = 24,
  SET_CONFIG = 25,
  CREATE_CRYPTO_SESSION = 26,
  CLOSE_CRYPTO_SESSION = 27,
  POSTCOPY_ADVISE = 28,
  POSTCOPY_LISTEN = 29,
  POSTCOPY_END = 30,
  GET_INFLIGHT_FD = 31,
  SET_INFLIGHT_FD = 32,
  GPU_SET_SOCKET = 33,
  RESET_DEVICE = 34,
  VRING_KICK = 35,
  GET_MAX_MEM_SLOTS = 36,
  ADD_MEM_REG = 37,
  REM_MEM_REG = 38,
  SET_STATUS = 39,
  GET_STATUS = 40,
};

// "SET_MEM_TABLE", or "unknown request" for a number the protocol does not define here.
const char* request_name(uint32_t request);

// Header flags: the version (always 1), a reply, and "reply with a status" (REPLY_ACK).
inline constexpr uint32_t kVersionMask = 0x3;
inline constexpr uint32_t kVersion1 = 0x1;
inline constexpr uint32_t kReplyFlag = 0x4;
inline constexpr uint32_t kNeedReplyFlag = 0x8;

// Feature bit 30 of GET_FEATURES: the backend speaks the protocol-feature extension.
inline constexpr unsigned kFeatureProtocolFeatures = 30;

// Protocol feature bits (GET/SET_PROTOCOL_FEATURES).
inline constexpr unsigned kProtocolMq = 0;
inline constexpr unsigned kProtocolLogShmfd = 1;
inline constexpr unsigned kProtocolRarp = 2;
inline constexpr unsigned kProtocolReplyAck = 3;
inline constexpr unsigned kProtocolMtu = 4;
inline constexpr unsigned kProtocolBackendReq = 5;
inline constexpr unsigned kProtocolCrossEndian = 6;
inline constexpr unsigned kProtocolCryptoSession = 7;
inline constexpr unsigned kProtocolPagefault = 8;
inline constexpr unsigned kProtocolConfig = 9;
inline constexpr unsigned kProtocolInflightShmfd = 12;
inline constexpr unsigned kProtocolResetDevice = 13;
inline constexpr unsigned kProtocolConfigureMemSlots = 15;
inline constexpr unsigned kProtocolStatus = 16;

inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxPayload = 4096;
inline constexpr size_t kMaxMemoryRegions = 8;
inline constexpr size_t kMaxFds = 8;
inline constexpr uint32_t kMaxConfigSize = 256;
// Vring fd payloads: bits 0-7 the queue index, bit 8 "no fd" (polling / not used).
inline constexpr uint64_t kVringIndexMask = 0xff;
inline constexpr uint64_t kVringNoFdFlag = 0x100;

struct VringState {
  uint32_t index = 0;
  uint32_t num = 0;
};

struct VringAddress {
  uint32_t index = 0;
  uint32_t flags = 0;  // bit 0: log
  uint64_t desc_user_addr = 0;
  uint64_t used_user_addr = 0;
  uint64_t avail_user_addr = 0;
  uint64_t log_guest_addr = 0;
};

struct MemoryRegion {
  uint64_t guest_phys_addr = 0;
  uint64_t memory_size = 0;
  uint64_t userspace_addr = 0;
  uint64_t mmap_offset = 0;
};

struct DeviceConfig {
  uint32_t offset = 0;
  uint32_t size = 0;
  uint32_t flags = 0;
  std::vector<uint8_t> bytes;  // `size` bytes
};

struct VringFd {
  uint8_t index = 0;
  bool no_fd = false;
  int fd = -1;  // borrowed from the message's fds; -1 when no_fd
};

// GET_INFLIGHT_FD / SET_INFLIGHT_FD payload (inflight_payload.cc).
struct InflightDescription {
  uint64_t mmap_size = 0;
  uint64_t mmap_offset = 0;
  uint16_t num_queues = 0;
  uint16_t queue_size = 0;
};
inline constexpr uint16_t kMaxInflightQueues = 64;
inline constexpr uint16_t kMaxInflightQueueSize = 32768;

struct Message {
  uint32_t request = 0;
  uint32_t flags = kVersion1;
  std::vector<uint8_t> payload;
  std::vector<UniqueFd> fds;

  bool is_reply() const { return (flags & kReplyFlag) != 0; }
  bool needs_reply() const { return (flags & kNeedReplyFlag) != 0; }
};

// Payload parsers. Each checks the exact payload size for its request and that the message
// carries exactly the fds it should; errors name the request.
Result<uint64_t> parse_u64(const Message& message);
Result<VringState> parse_vring_state(const Message& message);
Result<VringAddress> parse_vring_address(const Message& message);
// SET_MEM_TABLE: u32 count, u32 padding, then `count` regions; one fd per region, count 1..8,
// every size non-zero, no region wrapping in guest-physical or user space.
Result<std::vector<MemoryRegion>> parse_memory_table(const Message& message);
// SET_VRING_KICK / CALL / ERR.
Result<VringFd> parse_vring_fd(const Message& message);
// GET_CONFIG / SET_CONFIG: offset, size (<= 256), flags, then `size` bytes.
Result<DeviceConfig> parse_device_config(const Message& message);
// GET_INFLIGHT_FD / SET_INFLIGHT_FD and GET's reply: 24 bytes; `fds` is how many fds the
// message must carry (0 for GET, 1 for SET and GET's reply). Queues 1..64, a power-of-two queue
// size up to 32768; with an fd, a record of 1 byte to 64 MiB at a page-aligned offset.
Result<InflightDescription> parse_inflight_description(const Message& message, size_t fds);
// The header fields every message must have right: version 1, no unknown flag bits.
Status check_header(const Message& message);

// Builders.
Message make_request(Request request, std::span<const uint8_t> payload = {}, bool need_reply = false);
Message make_u64_request(Request request, uint64_t value, bool need_reply = false);
Message make_vring_state_request(Request request, VringState state, bool need_reply = false);
Message make_vring_address_request(VringAddress address, bool need_reply = false);
Message make_memory_table_request(std::span<const MemoryRegion> regions, std::vector<UniqueFd> fds,
                                  bool need_reply = false);
// An invalid `fd` sets the no-fd bit.
Message make_vring_fd_request(Request request, uint8_t index, UniqueFd fd, bool need_reply = false);
Message make_config_request(Request request, const DeviceConfig& config, bool need_reply = false);
Message make_reply(const Message& request, std::span<const uint8_t> payload);
// GET_INFLIGHT_FD (no fd) or SET_INFLIGHT_FD (with the record's fd); a backend's reply to GET
// is make_inflight_reply().
Message make_inflight_message(Request request, const InflightDescription& description, UniqueFd fd = UniqueFd(),
                              bool need_reply = false);
Message make_inflight_reply(const Message& request, const InflightDescription& description, UniqueFd fd);
Message make_u64_reply(const Message& request, uint64_t value);

// Whether a reply answers `request`: same request code, reply flag set, version 1.
Status check_reply_to(Request request, const Message& reply);

}  // namespace bulwark::vhost_user

// A virtio-blk request (virtio 1.x section 5.2.6) as a guest lays it out in one descriptor
// chain: a 16-byte header (type, ioprio, sector) at the start of the device-readable part,
// then the data, then one status byte: the last device-writable byte. Pure: the parser only
// looks at the chain's buffers, which the guest may change at any time, so every field is
// copied out once.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "bulwark/common/result.h"
#include "devices/virtio/split_queue.h"

namespace bulwark::blk {

inline constexpr uint64_t kSectorSize = 512;
inline constexpr uint64_t kHeaderSize = 16;
inline constexpr uint64_t kSegmentSize = 16;  // DISCARD / WRITE_ZEROES range
inline constexpr uint64_t kMaxSegments = 32;  // more in one request is refused
inline constexpr uint64_t kIdBytes = 20;      // GET_ID answer

// Request types (VIRTIO_BLK_T_*).
inline constexpr uint32_t kTypeIn = 0;
inline constexpr uint32_t kTypeOut = 1;
inline constexpr uint32_t kTypeFlush = 4;
inline constexpr uint32_t kTypeGetId = 8;
inline constexpr uint32_t kTypeDiscard = 11;
inline constexpr uint32_t kTypeWriteZeroes = 13;

// Status byte values (VIRTIO_BLK_S_*).
inline constexpr uint8_t kStatusOk = 0;
inline constexpr uint8_t kStatusIoErr = 1;
inline constexpr uint8_t kStatusUnsupported = 2;

inline constexpr uint32_t kSegmentFlagUnmap = 1;

struct Segment {
  uint64_t sector = 0;
  uint32_t num_sectors = 0;
  uint32_t flags = 0;
};

struct Request {
  uint32_t type = 0;
  uint32_t ioprio = 0;
  uint64_t sector = 0;
  // OUT: the readable bytes after the header. IN / GET_ID: the writable bytes before status.
  std::vector<std::span<const uint8_t>> out_data;
  std::vector<std::span<uint8_t>> in_data;
  uint64_t data_bytes = 0;
  std::vector<Segment> segments;  // DISCARD / WRITE_ZEROES
};

// The status byte of a chain: its last writable byte; empty if the chain has none (then the
// request cannot even be answered with an error).
std::span<uint8_t> status_byte(const virtio::DescriptorChain& chain);

// Parses a chain's request. An Error is a malformed request (answered with IOERR): no status
// byte, a short header, IN/OUT data that is not whole sectors, a bad segment list. A type the
// parser does not know parses fine; the device answers it with UNSUPP.
Result<Request> parse_request(const virtio::DescriptorChain& chain);

}  // namespace bulwark::blk

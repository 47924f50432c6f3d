#include "devices/blk/blk_request.h"

#include <algorithm>
#include <cstring>

#include "bulwark/common/byte_reader.h"

namespace bulwark::blk {

namespace {

// The readable bytes from `skip` on, as spans into the chain's buffers.
std::vector<std::span<const uint8_t>> readable_after(const virtio::DescriptorChain& chain, uint64_t skip) {
  std::vector<std::span<const uint8_t>> rest;
  for (std::span<const uint8_t> buffer : chain.readable) {
    if (skip >= buffer.size()) {
      skip -= buffer.size();
      continue;
    }
    rest.push_back(buffer.subspan(skip));
    skip = 0;
  }
  return rest;
}

// Copies the first `out.size()` readable bytes; false if the chain has fewer.
bool copy_readable(const std::vector<std::span<const uint8_t>>& buffers, std::span<uint8_t> out) {
  size_t filled = 0;
  for (std::span<const uint8_t> buffer : buffers) {
    if (filled == out.size()) break;
    const size_t n = std::min(buffer.size(), out.size() - filled);
    std::memcpy(out.data() + filled, buffer.data(), n);
    filled += n;
  }
  return filled == out.size();
}

uint64_t total_bytes(const std::vector<std::span<const uint8_t>>& buffers) {
  uint64_t total = 0;
  for (auto buffer : buffers) total += buffer.size();
  return total;
}

}  // namespace

std::span<uint8_t> status_byte(const virtio::DescriptorChain& chain) {
  for (auto it = chain.writable.rbegin(); it != chain.writable.rend(); ++it) {
    if (!it->empty()) return it->last(1);
  }
  return {};
}

Result<Request> parse_request(const virtio::DescriptorChain& chain) {
  if (status_byte(chain).empty()) return Error("request has no writable status byte");
  uint8_t header[kHeaderSize];
  if (!copy_readable(chain.readable, header)) return Error("request header shorter than 16 bytes");
  const std::span<const uint8_t> header_bytes(header);
  Request request;
  request.type = *read_le<uint32_t>(header_bytes, 0);
  request.ioprio = *read_le<uint32_t>(header_bytes, 4);
  request.sector = *read_le<uint64_t>(header_bytes, 8);
  const auto payload = readable_after(chain, kHeaderSize);

  // The writable bytes before the status byte: the status is the last byte of the last
  // non-empty writable buffer, and empty buffers after it carry nothing.
  auto device_writable = [&chain]() {
    std::vector<std::span<uint8_t>> buffers;
    size_t last = chain.writable.size();
    while (last > 0 && chain.writable[last - 1].empty()) --last;
    for (size_t i = 0; i < last; ++i) {
      std::span<uint8_t> buffer = chain.writable[i];
      if (i + 1 == last) buffer = buffer.first(buffer.size() - 1);
      if (!buffer.empty()) buffers.push_back(buffer);
    }
    return buffers;
  };

  switch (request.type) {
    case kTypeIn:
    case kTypeGetId:
      request.in_data = device_writable();
      for (auto buffer : request.in_data) request.data_bytes += buffer.size();
      break;
    case kTypeOut:
      request.out_data = payload;
      request.data_bytes = total_bytes(payload);
      break;
    case kTypeDiscard:
    case kTypeWriteZeroes: {
      const uint64_t bytes = total_bytes(payload);
      if (bytes == 0 || bytes % kSegmentSize != 0 || bytes / kSegmentSize > kMaxSegments) {
        return Error("segment list of " + std::to_string(bytes) + " bytes is not 1 to " +
                     std::to_string(kMaxSegments) + " whole segments");
      }
      std::vector<uint8_t> copy(bytes);
      copy_readable(payload, copy);
      const std::span<const uint8_t> list(copy);
      for (uint64_t at = 0; at < bytes; at += kSegmentSize) {
        request.segments.push_back(Segment{*read_le<uint64_t>(list, at), *read_le<uint32_t>(list, at + 8),
                                           *read_le<uint32_t>(list, at + 12)});
      }
      break;
    }
    default:
      break;  // FLUSH carries no data; unknown types are answered UNSUPP
  }
  if ((request.type == kTypeIn || request.type == kTypeOut) && request.data_bytes % kSectorSize != 0) {
    return Error("data of " + std::to_string(request.data_bytes) + " bytes is not whole sectors");
  }
  return request;
}

}  // namespace bulwark::blk

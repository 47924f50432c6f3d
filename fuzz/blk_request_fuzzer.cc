// The virtio-blk request parser on chains of arbitrary buffers. Input: byte 0 = readable
// buffer count (mod 5), byte 1 = writable count (mod 5), then one length byte per buffer, then
// the bytes the buffers are cut from in order (short input gives short buffers).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "devices/blk/blk_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bulwark;
  if (size < 2) return 0;
  const size_t readable = data[0] % 5;
  const size_t writable = data[1] % 5;
  size_t at = 2;
  std::vector<size_t> lengths;
  for (size_t i = 0; i < readable + writable && at < size; ++i) lengths.push_back(data[at++]);
  std::vector<uint8_t> pool(data + at, data + size);
  virtio::DescriptorChain chain;
  size_t cut = 0;
  for (size_t i = 0; i < lengths.size(); ++i) {
    const size_t n = std::min(lengths[i], pool.size() - cut);
    std::span<uint8_t> buffer(pool.data() + cut, n);
    cut += n;
    if (i < readable) {
      chain.readable.push_back(buffer);
      chain.readable_bytes += n;
    } else {
      chain.writable.push_back(buffer);
      chain.writable_bytes += n;
    }
  }
  const std::span<uint8_t> status = blk::status_byte(chain);
  auto request = blk::parse_request(chain);
  if (!request.ok()) return 0;
  if (status.empty()) std::abort();  // a parsed request always has its status byte
  uint64_t total = 0;
  for (auto buffer : request->in_data) {
    total += buffer.size();
    // Data never overlaps the status byte.
    if (buffer.data() <= status.data() && status.data() < buffer.data() + buffer.size()) std::abort();
  }
  for (auto buffer : request->out_data) total += buffer.size();
  if (total != request->data_bytes) std::abort();
  if (request->segments.size() > blk::kMaxSegments) std::abort();
  return 0;
}

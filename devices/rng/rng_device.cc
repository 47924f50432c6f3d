#include "devices/rng/rng_device.h"

#include <errno.h>
#include <sys/random.h>

#include <algorithm>

namespace bulwark::rng {

namespace {

// Fills `buffer` from getrandom; returns how many bytes were filled (fewer on an error).
uint64_t fill_random(std::span<uint8_t> buffer) {
  uint64_t filled = 0;
  while (filled < buffer.size()) {
    const ssize_t n = ::getrandom(buffer.data() + filled, buffer.size() - filled, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    filled += static_cast<uint64_t>(n);
  }
  return filled;
}

}  // namespace

Result<uint32_t> RngDevice::process_queue(uint16_t /*index*/, virtio::SplitQueue& queue, uint32_t budget) {
  uint32_t served = 0;
  for (; served < budget; ++served) {
    auto chain = queue.pop();
    if (!chain.ok()) return chain.error();
    if (!chain->has_value()) break;
    uint64_t written = 0;
    for (std::span<uint8_t> buffer : (*chain)->writable) {
      const uint64_t want = std::min<uint64_t>(buffer.size(), kMaxBytesPerRequest - written);
      if (want == 0) break;
      const uint64_t got = fill_random(buffer.first(want));
      written += got;
      if (got < want) break;
    }
    BULWARK_TRY(queue.push_used((*chain)->head, static_cast<uint32_t>(written)));
  }
  return served;
}

}  // namespace bulwark::rng

// vhost-user messages as a backend receives them from a frontend: the 12-byte header (request,
// flags, size) then the payload (the rest of the input; fds none), through check_header and
// every payload parser. None may crash; each must refuse a payload of the wrong size.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "devices/vhost_user/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bulwark::vhost_user;
  if (size < kHeaderSize || size - kHeaderSize > kMaxPayload) return 0;
  Message message;
  std::memcpy(&message.request, data, 4);
  std::memcpy(&message.flags, data + 4, 4);
  message.payload.assign(data + kHeaderSize, data + size);
  (void)request_name(message.request);
  (void)check_header(message);
  auto u64 = parse_u64(message);
  if (u64.ok() && message.payload.size() != 8) std::abort();
  auto state = parse_vring_state(message);
  if (state.ok() && message.payload.size() != 8) std::abort();
  auto address = parse_vring_address(message);
  if (address.ok() && message.payload.size() != 40) std::abort();
  // Without fds, a memory table can never be accepted (one fd per region).
  if (parse_memory_table(message).ok()) std::abort();
  auto vring = parse_vring_fd(message);
  if (vring.ok() && !vring->no_fd) std::abort();
  auto config = parse_device_config(message);
  if (config.ok() && (config->bytes.size() != config->size || config->offset + config->size > kMaxConfigSize)) {
    std::abort();
  }
  return 0;
}

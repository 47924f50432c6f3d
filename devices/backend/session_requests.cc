// Requests about the whole device: features, protocol features, guest memory, config space,
// and RESET_OWNER.
#include <string>
#include <utility>
#include <vector>

#include "devices/backend/backend_server.h"
#include "devices/backend/feature_bits.h"
#include "devices/backend/request_errors.h"
#include "devices/vhost_user/channel.h"

namespace bulwark::backend {

namespace vu = vhost_user;
using detail::hex;
using detail::named;

Status BackendServer::set_features(const vu::Message& message) {
  auto value = vu::parse_u64(message);
  if (!value.ok()) return malformed(value.error());
  if ((*value & ~offered_features_) != 0) {
    return Error(named(message) + ": feature bits " + hex(*value & ~offered_features_) +
                 " were never offered");
  }
  acked_features_ = *value;
  features_set_ = true;
  device_.set_features(acked_features_);
  return ok_status();
}

Status BackendServer::set_protocol_features(const vu::Message& message) {
  auto value = vu::parse_u64(message);
  if (!value.ok()) return malformed(value.error());
  if ((*value & ~kOfferedProtocolFeatures) != 0) {
    return Error(named(message) + ": protocol feature bits " + hex(*value & ~kOfferedProtocolFeatures) +
                 " were never offered");
  }
  acked_protocol_features_ = *value;
  return ok_status();
}

Status BackendServer::set_mem_table(const vu::Message& message) {
  auto regions = vu::parse_memory_table(message);
  if (!regions.ok()) return malformed(regions.error());
  std::vector<int> fds;
  for (const UniqueFd& fd : message.fds) fds.push_back(fd.get());
  auto mapped = virtio::MappedGuestMemory::map(*regions, fds);
  if (!mapped.ok()) return mapped.error().wrap(named(message));
  // Running queues point into the old mappings: stop them, swap, start them again.
  for (uint16_t i = 0; i < vrings_.size(); ++i) stop(i);
  memory_.reset();
  memory_.emplace(std::move(*mapped));
  for (uint16_t i = 0; i < vrings_.size(); ++i) BULWARK_TRY(refresh(i));
  return ok_status();
}

Status BackendServer::get_config(const vu::Message& message) {
  auto config = vu::parse_device_config(message);
  if (!config.ok()) return config.error();
  // The parser bounds offset + size by 256; bytes past the device's space read as zero.
  const std::span<const uint8_t> space = device_.config_space();
  for (uint32_t i = 0; i < config->size; ++i) {
    const uint64_t at = uint64_t{config->offset} + i;
    config->bytes[i] = at < space.size() ? space[at] : 0;
  }
  vu::Message encoded = vu::make_config_request(vu::Request::GET_CONFIG, *config);
  return vu::send_message(socket_.get(), vu::make_reply(message, encoded.payload));
}

Status BackendServer::set_config(const vu::Message& message) {
  auto config = vu::parse_device_config(message);
  if (!config.ok()) return malformed(config.error());
  Status written = device_.write_config(config->offset, config->bytes);
  if (!written.ok()) return written.error().wrap(named(message));
  return ok_status();
}

void BackendServer::reset() {
  for (uint16_t i = 0; i < vrings_.size(); ++i) stop(i);
  vrings_ = std::vector<Vring>(device_.num_queues());
  memory_.reset();
  inflight_.reset();
  acked_features_ = 0;
  features_set_ = false;
}

}  // namespace bulwark::backend

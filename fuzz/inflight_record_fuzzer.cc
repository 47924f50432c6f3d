// The in-flight record (devices/inflight/split_inflight) as a replacement device process reads
// it, and the GET/SET_INFLIGHT_FD payload. Input: byte 0 picks the mode and queue size, bytes
// 1-2 the used ring's idx, bytes 3-10 the negotiated features, the rest the record's bytes
// (modes 0-1), a list of take/complete operations (mode 2) or a payload (mode 3).
// Mode 0-1: any record either is refused or yields distinct heads below the queue size, a
// resume point consistent with them, and reads the same a second time. Mode 2: a record kept
// by the device's own calls and cut at any point yields exactly what a plain model says is in
// flight, in the order taken.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <set>
#include <span>
#include <vector>

#include "devices/inflight/split_inflight.h"
#include "devices/vhost_user/protocol.h"

namespace {
using bulwark::inflight::SplitQueueRecord;

constexpr uint16_t kSizes[] = {1, 2, 4, 8, 16, 256};

void check_any_record(uint16_t queue_size, uint16_t used, uint64_t features, std::span<const uint8_t> rest) {
  std::vector<uint8_t> region(bulwark::inflight::queue_region_bytes(queue_size), 0);
  std::memcpy(region.data(), rest.data(), std::min(rest.size(), region.size()));
  SplitQueueRecord record(region, queue_size);
  auto recovery = record.recover(features, used);
  if (!recovery.ok()) return;
  std::set<uint16_t> seen;
  for (uint16_t head : recovery->heads) {
    if (head >= queue_size || !seen.insert(head).second) std::abort();
  }
  if (recovery->last_avail_idx != static_cast<uint16_t>(used + recovery->heads.size())) std::abort();
  SplitQueueRecord again(region, queue_size);
  auto second = again.recover(features, used);
  if (!second.ok() || second->heads != recovery->heads || second->completed_batch_fixed) std::abort();
}

void check_kept_record(uint16_t queue_size, uint16_t used, uint64_t features, std::span<const uint8_t> ops) {
  std::vector<uint8_t> region(bulwark::inflight::queue_region_bytes(queue_size), 0);
  SplitQueueRecord record(region, queue_size);
  record.initialise(features, used);
  std::vector<uint16_t> model;  // in flight, in the order taken
  bool cut_after_publish = false;
  for (size_t i = 0; i < ops.size(); ++i) {
    const uint16_t head = static_cast<uint16_t>(ops[i] % queue_size);
    const bool in_flight = std::find(model.begin(), model.end(), head) != model.end();
    if ((ops[i] & 0x80) == 0) {
      if (in_flight) continue;  // a head is not taken twice before it completes
      record.taken(head);
      model.push_back(head);
    } else {
      if (!in_flight) continue;
      record.completing(head);
      ++used;
      std::erase(model, head);
      if (i + 1 == ops.size() && (ops[i] & 0x40) != 0) {
        cut_after_publish = true;  // died after publishing the used idx, before noting it
        break;
      }
      record.completed(head, used);
    }
  }
  SplitQueueRecord successor(region, queue_size);
  auto recovery = successor.recover(features, used);
  if (!recovery.ok()) std::abort();
  if (recovery->heads != model || recovery->completed_batch_fixed != cut_after_publish) std::abort();
}

void check_payload(uint16_t fds_choice, std::span<const uint8_t> rest) {
  using namespace bulwark::vhost_user;
  Message message;
  message.request = static_cast<uint32_t>(fds_choice ? Request::SET_INFLIGHT_FD : Request::GET_INFLIGHT_FD);
  message.payload.assign(rest.begin(), rest.end());
  auto parsed = parse_inflight_description(message, 0);
  if (!parsed.ok()) return;
  const uint16_t size = parsed->queue_size;
  if (parsed->num_queues == 0 || parsed->num_queues > kMaxInflightQueues || size == 0 || (size & (size - 1)) != 0)
    std::abort();
  // What the builder makes of it parses back the same.
  auto again = parse_inflight_description(make_inflight_message(Request::GET_INFLIGHT_FD, *parsed), 0);
  if (!again.ok() || again->num_queues != parsed->num_queues || again->queue_size != size) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 11) return 0;
  const uint16_t queue_size = kSizes[(data[0] & 0x0F) % std::size(kSizes)];
  const int mode = data[0] >> 4 & 3;
  uint16_t used;
  std::memcpy(&used, data + 1, sizeof used);
  uint64_t features;
  std::memcpy(&features, data + 3, sizeof features);
  const std::span<const uint8_t> rest(data + 11, size - 11);
  if (mode <= 1) check_any_record(queue_size, used, features, rest);
  if (mode == 2) check_kept_record(queue_size, used, features, rest);
  if (mode == 3) check_payload(data[0] & 1, rest);
  return 0;
}

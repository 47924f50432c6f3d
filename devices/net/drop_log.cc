#include "devices/net/drop_log.h"

#include "bulwark/common/log.h"

namespace bulwark::net {

const char* device_drop_name(DeviceDrop drop) {
  switch (drop) {
    case DeviceDrop::kTxBadHeader: return "tx_bad_vnet_header";
    case DeviceDrop::kTxBadChain: return "tx_bad_chain";
    case DeviceDrop::kTxOversize: return "tx_oversize";
    case DeviceDrop::kTxTapError: return "tx_tap_error";
    case DeviceDrop::kRxTapError: return "rx_tap_error";
    case DeviceDrop::kRxRunt: return "rx_runt";
    case DeviceDrop::kRxOversize: return "rx_oversize";
    case DeviceDrop::kRxOffload: return "rx_offload_not_negotiated";
    case DeviceDrop::kRxBufferTooSmall: return "rx_buffers_too_small";
    case DeviceDrop::kCtrlRefused: return "ctrl_refused";
    case DeviceDrop::kCount: break;
  }
  return "unknown";
}

namespace {

std::string occurrence_line(const std::string& what, uint64_t n, std::string_view detail) {
  // "tx frame dropped, source_mac (#4; every power of two is logged): ..."
  std::string line = what + " (#" + std::to_string(n) + "; every power of two is logged)";
  if (!detail.empty()) line += ": " + std::string(detail);
  return line;
}

}  // namespace

void DropLog::filtered(Direction direction, DropReason reason, std::string_view detail) {
  const size_t index = static_cast<size_t>(reason);
  if (index >= kReasons) return;
  const uint64_t n = ++filtered_[direction == Direction::kTx ? 0 : 1][index];
  if (!logged_occurrence(n)) return;
  const std::string what = std::string(direction == Direction::kTx ? "tx" : "rx") + " frame dropped, " +
                           drop_reason_name(reason);
  // Frames toward the guest that are simply not for it are routine (a bridge floods); the
  // guest's spoofing attempts are what an operator wants to see.
  if (direction == Direction::kRx) {
    log::info(occurrence_line(what, n, detail));
  } else {
    log::warn(occurrence_line(what, n, detail));
  }
}

void DropLog::dropped(DeviceDrop drop, std::string_view detail) {
  const size_t index = static_cast<size_t>(drop);
  if (index >= dropped_.size()) return;
  const uint64_t n = ++dropped_[index];
  if (!logged_occurrence(n)) return;
  log::warn(occurrence_line(std::string("dropped, ") + device_drop_name(drop), n, detail));
}

uint64_t DropLog::filtered_count(Direction direction, DropReason reason) const {
  const size_t index = static_cast<size_t>(reason);
  return index < kReasons ? filtered_[direction == Direction::kTx ? 0 : 1][index] : 0;
}

uint64_t DropLog::dropped_count(DeviceDrop drop) const {
  const size_t index = static_cast<size_t>(drop);
  return index < dropped_.size() ? dropped_[index] : 0;
}

std::string DropLog::summary() const {
  std::string text;
  for (size_t d = 0; d < 2; ++d) {
    for (size_t r = 0; r < kReasons; ++r) {
      if (filtered_[d][r] == 0) continue;
      if (!text.empty()) text += ' ';
      text += std::string(d == 0 ? "tx_" : "rx_") + drop_reason_name(static_cast<DropReason>(r)) + "=" +
              std::to_string(filtered_[d][r]);
    }
  }
  for (size_t i = 0; i < dropped_.size(); ++i) {
    if (dropped_[i] == 0) continue;
    if (!text.empty()) text += ' ';
    text += std::string(device_drop_name(static_cast<DeviceDrop>(i))) + "=" + std::to_string(dropped_[i]);
  }
  return text.empty() ? "none" : text;
}

}  // namespace bulwark::net

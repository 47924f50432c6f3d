// Rate-limited counters of refusals by the guest (tenant) or host clients (see event_log.h).
#include "devices/vsock/event_log.h"

#include "bulwark/common/log.h"

namespace bulwark::vsock {

const char* vsock_event_name(VsockEvent event) {
  switch (event) {
    case VsockEvent::kTxMalformed: return "tx_malformed";
    case VsockEvent::kTxOversize: return "tx_oversize";
    case VsockEvent::kGuestProtocolError: return "guest_protocol_error";
    case VsockEvent::kGuestCreditOverrun: return "guest_credit_overrun";
    case VsockEvent::kGuestCreditLie: return "guest_credit_lie";
    case VsockEvent::kGuestCapRefused: return "guest_cap_refused";
    case VsockEvent::kGuestUnknownConnection: return "guest_unknown_connection";
    case VsockEvent::kGuestConnectRefused: return "guest_connect_refused";
    case VsockEvent::kRxBufferTooSmall: return "rx_buffer_too_small";
    case VsockEvent::kHostCapRefused: return "host_cap_refused";
    case VsockEvent::kHostBadConnect: return "host_bad_connect";
    case VsockEvent::kHostConnectTimeout: return "host_connect_timeout";
    case VsockEvent::kHostIoError: return "host_io_error";
    case VsockEvent::kCloseTimeout: return "close_timeout";
    case VsockEvent::kTransportReset: return "transport_reset";
    case VsockEvent::kCount: break;
  }
  return "unknown";
}

void EventLog::record(VsockEvent event, std::string_view detail) {
  const size_t index = static_cast<size_t>(event);
  if (index >= counts_.size()) return;
  const uint64_t n = ++counts_[index];
  if ((n & (n - 1)) != 0) return;  // logs the 1st, 2nd, 4th, ... occurrence
  std::string line = std::string(vsock_event_name(event)) + " (#" + std::to_string(n) +
                     "; every power of two is logged)";
  if (!detail.empty()) line += ": " + std::string(detail);
  // Refusing a host port nobody listens on is routine; the rest is misbehaviour.
  if (event == VsockEvent::kGuestConnectRefused) {
    log::info(line);
  } else {
    log::warn(line);
  }
}

uint64_t EventLog::count(VsockEvent event) const {
  const size_t index = static_cast<size_t>(event);
  return index < counts_.size() ? counts_[index] : 0;
}

std::string EventLog::summary() const {
  std::string text;
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] == 0) continue;
    if (!text.empty()) text += ' ';
    text += std::string(vsock_event_name(static_cast<VsockEvent>(i))) + "=" + std::to_string(counts_[i]);
  }
  return text.empty() ? "none" : text;
}

}  // namespace bulwark::vsock

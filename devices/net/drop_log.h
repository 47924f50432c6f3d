// Counters of what bulwark-dev-net did not pass on, per direction and reason, and their log
// lines. A guest (or the host side) can cause a drop per frame, so each reason logs its 1st,
// 2nd, 4th, 8th, ... occurrence only: a flood costs a few dozen lines, never one per frame.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "devices/net/frame_filter.h"

namespace bulwark::net {

// Why the device itself (not the anti-spoofing filter) refused a frame or a command.
enum class DeviceDrop : uint8_t {
  kTxBadHeader,    // the vnet header of a TX chain failed parse_tx_header
  kTxBadChain,     // a TX chain shorter than a vnet header, or with device-writable buffers
  kTxOversize,     // a TX frame longer than kMaxFrameSize
  kTxTapError,     // the TAP refused the write (its queue full, the interface gone)
  kRxTapError,     // reading the TAP failed (other than "nothing waiting")
  kRxRunt,         // the TAP gave fewer bytes than a vnet header and an Ethernet header
  kRxOversize,     // the TAP gave a frame longer than kMaxFrameSize
  kRxOffload,      // the TAP gave an offload (checksum, GSO) the guest did not negotiate
  kRxBufferTooSmall,  // the guest's RX buffers could never hold the frame
  kCtrlRefused,    // a control command answered VIRTIO_NET_ERR
  kCount,
};

const char* device_drop_name(DeviceDrop drop);

enum class Direction : uint8_t { kTx, kRx };

class DropLog {
 public:
  // Counts one drop by the anti-spoofing filter; `detail` is logged with it when this is a
  // logged occurrence (pass a short description: addresses, lengths).
  void filtered(Direction direction, DropReason reason, std::string_view detail = {});
  void dropped(DeviceDrop drop, std::string_view detail = {});

  uint64_t filtered_count(Direction direction, DropReason reason) const;
  uint64_t dropped_count(DeviceDrop drop) const;
  // One line with every non-zero counter: "tx source_mac=3 rx not_for_guest=12 ...", or
  // "none".
  std::string summary() const;

  // Whether the n-th occurrence (1-based) of something is logged: n is a power of two.
  static bool logged_occurrence(uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

 private:
  static constexpr size_t kReasons = static_cast<size_t>(DropReason::kCount);
  std::array<std::array<uint64_t, kReasons>, 2> filtered_{};
  std::array<uint64_t, static_cast<size_t>(DeviceDrop::kCount)> dropped_{};
};

}  // namespace bulwark::net

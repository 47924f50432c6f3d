#include "monitor/tpm/crb_device.h"

#include <algorithm>
#include <cstring>

namespace bulwark::tpm {
namespace {

bool valid_access(uint64_t offset, size_t len) {
  if (len != 1 && len != 2 && len != 4 && len != 8) return false;
  return offset < kCrbSize && len <= kCrbSize - offset;  // start+length, no overflow
}

uint32_t big_endian32(std::span<const uint8_t> bytes) {
  return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) | bytes[3];
}

uint32_t little_endian32(std::span<const uint8_t> bytes) {
  return (uint32_t{bytes[3]} << 24) | (uint32_t{bytes[2]} << 16) | (uint32_t{bytes[1]} << 8) | bytes[0];
}

}  // namespace

uint8_t CrbDevice::register_byte(uint64_t offset) const {
  uint64_t value = 0;
  const uint64_t reg = offset & ~uint64_t{3};
  switch (reg) {
    case kLocState:
      value = kLocStateEstablished | kLocStateRegValid | (assigned_ ? kLocStateAssigned : 0);
      break;
    case kLocSts: value = assigned_ ? kLocStsGranted : 0; break;
    case kInterfaceId: value = kInterfaceIdValue & 0xffffffffu; break;
    case kInterfaceId + 4: value = kInterfaceIdValue >> 32; break;
    case kCtrlSts: value = (failed_ ? kCtrlStsFatal : 0) | (idle_ ? kCtrlStsIdle : 0); break;
    case kCtrlCancel: value = cancel_; break;
    case kCtrlStart: value = busy_ ? kCtrlStartInvoke : 0; break;
    case kIntEnable: value = int_enable_; break;
    case kCtrlCmdSize: value = kDataBufferSize; break;
    case kCtrlCmdLaddr: value = static_cast<uint32_t>(kCrbBase + kDataBuffer); break;
    case kCtrlCmdHaddr: value = 0; break;
    case kCtrlRspSize: value = kDataBufferSize; break;
    case kCtrlRspAddr: value = static_cast<uint32_t>(kCrbBase + kDataBuffer); break;
    default: value = 0; break;  // LOC_CTRL, CTRL_REQ, INT_STS and reserved words read as zero
  }
  return static_cast<uint8_t>(value >> (8 * (offset & 3)));
}

void CrbDevice::mmio_read(uint64_t offset, std::span<uint8_t> data) {
  if (!valid_access(offset, data.size())) {
    ++guest_errors_;
    std::fill(data.begin(), data.end(), 0xff);
    return;
  }
  for (size_t i = 0; i < data.size(); ++i) {
    const uint64_t at = offset + i;
    if (at < kRegistersEnd) {
      data[i] = register_byte(at);
    } else if (at < kDataBuffer + kDataBufferSize) {
      data[i] = buffer_[at - kDataBuffer];
    } else {
      data[i] = 0;  // localities 1..4
    }
  }
}

void CrbDevice::mmio_write(uint64_t offset, std::span<const uint8_t> data) {
  if (!valid_access(offset, data.size())) {
    ++guest_errors_;
    return;
  }
  if (offset >= kDataBuffer && offset + data.size() <= kDataBuffer + kDataBufferSize) {
    // The buffer is the guest's to fill, except while its command is with the engine (the
    // command was copied at CTRL_START, so a late write could only corrupt the response).
    if (busy_) {
      ++guest_errors_;
      return;
    }
    std::memcpy(buffer_.data() + (offset - kDataBuffer), data.data(), data.size());
    return;
  }
  if (offset + data.size() <= kRegistersEnd && offset % 4 == 0 && (data.size() == 4 || data.size() == 8)) {
    for (size_t word = 0; word < data.size(); word += 4) {
      write_register(offset + word, little_endian32(data.subspan(word, 4)));
    }
    return;
  }
  // Registers are written as whole aligned words; other localities' pages are not emulated.
  ++guest_errors_;
}

void CrbDevice::write_register(uint64_t offset, uint32_t value) {
  switch (offset) {
    case kLocCtrl:
      if (value & kLocCtrlRelinquish) {
        assigned_ = false;
      } else if (value & (kLocCtrlRequest | kLocCtrlSeize)) {
        assigned_ = true;
      }
      return;
    case kCtrlReq:
      if (!assigned_) break;
      if (value & kCtrlReqCmdReady) idle_ = false;
      if ((value & kCtrlReqGoIdle) && !busy_) idle_ = true;
      return;
    case kCtrlCancel:
      // Nothing to cancel in swtpm over the data channel; the bit reads back as written.
      cancel_ = value & 1;
      return;
    case kCtrlStart:
      if (!(value & kCtrlStartInvoke)) return;
      if (!assigned_ || busy_) break;
      start();
      return;
    case kIntEnable:
      int_enable_ = value;  // no interrupt is ever raised (the ACPI device declares none)
      return;
    case kIntSts:
      return;  // write-1-to-clear of a status that is always zero
    default:
      break;
  }
  ++guest_errors_;
}

void CrbDevice::answer_with_code(uint32_t code) {
  const uint8_t response[kTpmHeaderSize] = {
      static_cast<uint8_t>(kTpmStNoSessions >> 8), static_cast<uint8_t>(kTpmStNoSessions & 0xff),
      0, 0, 0, static_cast<uint8_t>(kTpmHeaderSize),
      static_cast<uint8_t>(code >> 24), static_cast<uint8_t>(code >> 16), static_cast<uint8_t>(code >> 8),
      static_cast<uint8_t>(code)};
  std::memcpy(buffer_.data(), response, sizeof response);
}

void CrbDevice::start() {
  cancel_ = 0;
  idle_ = false;
  const uint32_t size = big_endian32(std::span<const uint8_t>(buffer_).subspan(2, 4));
  if (size < kTpmHeaderSize || size > kDataBufferSize) {
    ++guest_errors_;
    answer_with_code(kTpmRcCommandSize);
    return;
  }
  if (failed_) {
    answer_with_code(kTpmRcFailure);
    return;
  }
  pending_.emplace(buffer_.begin(), buffer_.begin() + size);
  busy_ = true;
  waiting_.store(true, std::memory_order_release);
}

std::optional<std::vector<uint8_t>> CrbDevice::take_command() {
  waiting_.store(false, std::memory_order_release);
  std::optional<std::vector<uint8_t>> command = std::move(pending_);
  pending_.reset();
  return command;
}

void CrbDevice::complete(std::span<const uint8_t> response) {
  if (!busy_) return;  // failed meanwhile: the guest already has its answer
  if (response.size() < kTpmHeaderSize || response.size() > kDataBufferSize) {
    fail();
    return;
  }
  std::copy(response.begin(), response.end(), buffer_.begin());
  std::fill(buffer_.begin() + static_cast<std::ptrdiff_t>(response.size()), buffer_.end(), 0);
  busy_ = false;
}

void CrbDevice::fail() {
  failed_ = true;
  waiting_.store(false, std::memory_order_release);
  pending_.reset();
  if (busy_) {
    answer_with_code(kTpmRcFailure);
    busy_ = false;
  }
}

}  // namespace bulwark::tpm

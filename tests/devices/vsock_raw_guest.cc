#include "tests/devices/vsock_raw_guest.h"

#include <cstring>
#include <thread>

namespace bulwark::test {
namespace {

uint32_t vsock_load32(const uint8_t* at) { return __atomic_load_n(reinterpret_cast<const uint32_t*>(at), __ATOMIC_ACQUIRE); }

}  // namespace

RawVsockGuest::RawVsockGuest(TestFrontend& frontend) : frontend_(frontend) {
  rx_gpa_ = frontend_.allocate(uint64_t{kRxBufferBytes} * TestFrontend::kQueueSize);
  tx_gpa_ = frontend_.allocate(vsock::kHeaderSize + vsock::kMaxPayload + 64);
  for (uint16_t head = 0; head < TestFrontend::kQueueSize; ++head) {
    frontend_.write_descriptor(kRx, head, rx_gpa_ + uint64_t{kRxBufferBytes} * head, kRxBufferBytes, 2 /*WRITE*/, 0);
    frontend_.offer(kRx, head);
  }
  (void)frontend_.kick(kRx);
}

vsock::Header RawVsockGuest::header(vsock::Op op, uint32_t guest_port, uint32_t host_port, uint32_t buf_alloc,
                                    uint32_t fwd_cnt) {
  vsock::Header h;
  h.src_cid = 3;
  h.dst_cid = vsock::kHostCid;
  h.src_port = guest_port;
  h.dst_port = host_port;
  h.type = vsock::kTypeStream;
  h.op = op;
  h.buf_alloc = buf_alloc;
  h.fwd_cnt = fwd_cnt;
  return h;
}

Status RawVsockGuest::send(const vsock::Header& header, std::span<const uint8_t> payload) {
  vsock::Header h = header;
  h.len = static_cast<uint32_t>(payload.size());
  std::vector<uint8_t> bytes(vsock::kHeaderSize + payload.size());
  vsock::encode_header(h, std::span<uint8_t, vsock::kHeaderSize>(bytes.data(), vsock::kHeaderSize));
  if (!payload.empty()) std::memcpy(bytes.data() + vsock::kHeaderSize, payload.data(), payload.size());
  return send_raw(bytes);
}

Status RawVsockGuest::send_raw(std::span<const uint8_t> bytes) {
  if (bytes.size() > vsock::kHeaderSize + vsock::kMaxPayload + 64) return Error("packet too long for the tx buffer");
  std::memcpy(frontend_.guest(tx_gpa_), bytes.data(), bytes.size());
  auto used = frontend_.submit(kTx, {{tx_gpa_, static_cast<uint32_t>(bytes.size()), false}});
  if (!used.ok()) return used.error();
  return ok_status();
}

std::optional<VsockRxPacket> RawVsockGuest::receive(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (frontend_.used_index(kRx) == seen_used_) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const uint8_t* element = frontend_.guest(TestFrontend::used_gpa(kRx)) + 4 + 8 * (seen_used_ % TestFrontend::kQueueSize);
  const uint32_t head = vsock_load32(element);
  const uint32_t length = vsock_load32(element + 4);
  ++seen_used_;
  VsockRxPacket packet;
  if (head < TestFrontend::kQueueSize && length >= vsock::kHeaderSize && length <= kRxBufferBytes) {
    const uint8_t* buffer = frontend_.guest(rx_gpa_ + uint64_t{kRxBufferBytes} * head);
    packet.header = vsock::decode_header(std::span<const uint8_t, vsock::kHeaderSize>(buffer, vsock::kHeaderSize));
    packet.payload.assign(buffer + vsock::kHeaderSize, buffer + length);
  }
  // The buffer goes back on the ring, as a driver refills it.
  if (head < TestFrontend::kQueueSize) {
    frontend_.offer(kRx, static_cast<uint16_t>(head));
    (void)frontend_.kick(kRx);
  }
  return packet;
}

}  // namespace bulwark::test

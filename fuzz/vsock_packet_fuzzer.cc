// virtio-vsock (devices/vsock): the guest packet checks, then a sequence of guest packets and
// host-side events fed into a connection table, asserting what the device relies on: a parsed
// packet is what it claims, no connection ever holds more guest bytes than our buf_alloc, we
// never send more than the guest's credit, the table never exceeds its ceiling, and every
// packet we build is addressed from the host to the guest.
//
// Input: a sequence of records, each an action byte then its operands:
//   0 raw packet:     len u16, then len bytes parsed as a tx chain (header + payload)
//   1 built packet:   op u8, ports u8 (bits 0-1 guest port, 2-3 host port), flags u8, len u16,
//                     buf_alloc u32, fwd u32 (bit 31 set: fwd_cnt = bytes we sent on that
//                     connection minus the low 12 bits; else taken as is); then encoded and
//                     parsed like a raw one (zero payload of len bytes)
//   2 host event:     which u8 (connection index), kind u8, n u16: kind%6 = consumed n, send
//                     n, EOF, gone, reset, want credit
//   3 host CONNECT:   guest port u8 (bits 0-1 pick one of the guest ports built packets use)
//   4 drain:          take every pending control packet and stand-alone RST, drop finished
// A REQUEST the table calls new is accepted when the host port is even (a listener) and
// refused when odd.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <span>
#include <vector>

#include "devices/vsock/connection_table.h"
#include "devices/vsock/packet.h"

namespace {

using namespace bulwark::vsock;

constexpr uint64_t kFuzzGuestCid = 3;
constexpr TableLimits kFuzzLimits{.max_connections = 4, .buf_alloc = 8192, .max_pending_rsts = 8};

struct Input {
  std::span<const uint8_t> bytes;
  size_t at = 0;
  bool empty() const { return at >= bytes.size(); }
  template <typename T>
  T take() {
    T v = 0;
    for (size_t i = 0; i < sizeof(T); ++i)
      v = static_cast<T>(v | (T{at < bytes.size() ? bytes[at++] : uint8_t{0}} << (8 * i)));
    return v;
  }
  std::span<const uint8_t> take_span(size_t n) {
    const size_t left = at < bytes.size() ? bytes.size() - at : 0;
    n = n < left ? n : left;
    auto s = bytes.subspan(at, n);
    at += n;
    return s;
  }
};

void check_ours(const Header& h) {
  if (h.src_cid != kHostCid || h.dst_cid != kFuzzGuestCid || h.type != kTypeStream) std::abort();
  if (h.buf_alloc != kFuzzLimits.buf_alloc) std::abort();
  const auto bytes = encode_header(h);
  if (!(decode_header(bytes) == h)) std::abort();
}

struct Harness {
  ConnectionTable table{kFuzzGuestCid, kFuzzLimits};
  std::map<ConnectionKey, uint32_t> sent;  // bytes we sent per connection (mod 2^32)

  Connection* pick(uint8_t which, ConnectionKey* key) {
    auto& all = table.connections();
    if (all.empty()) return nullptr;
    auto it = all.begin();
    for (size_t i = which % all.size(); i > 0; --i) ++it;
    *key = it->first;
    return &it->second;
  }

  void guest_packet(std::span<const uint8_t> bytes) {
    auto parsed = parse_guest_packet(bytes, kFuzzGuestCid);
    if (!parsed.ok()) return;
    const Header& h = parsed->header;
    // What the checks promise.
    if (bytes.size() != kHeaderSize + h.len || h.len > kMaxPayload) std::abort();
    if (parsed->payload.size() != h.len) std::abort();
    if (h.src_cid != kFuzzGuestCid || h.dst_cid != kHostCid || h.type != kTypeStream) std::abort();
    if (h.op != Op::kRw && h.len != 0) std::abort();
    if (h.op != Op::kShutdown && h.flags != 0) std::abort();

    const size_t before = table.size();
    RouteResult r = table.on_guest_packet(h);
    if (r.route == Route::kNewRequest) {
      if ((h.dst_port & 1) == 0) {
        if (Connection* c = table.accept_request(h)) {
          if (c->state() != ConnState::kEstablished) std::abort();
          sent[c->key()] = 0;
        }
      } else {
        table.refuse_request(h);
      }
    }
    if (r.route == Route::kConnection) {
      if (r.result.verdict == GuestVerdict::kOk && r.result.forward_bytes > h.len) std::abort();
      if (r.result.verdict != GuestVerdict::kOk && r.result.forward_bytes != 0) std::abort();
      if (r.result.verdict == GuestVerdict::kPeerReset && table.find(r.key) != nullptr) std::abort();
    }
    if (r.route == Route::kRefusedCap && before < kFuzzLimits.max_connections) std::abort();
  }

  void host_event(uint8_t which, uint8_t kind, uint16_t n) {
    ConnectionKey key;
    Connection* c = pick(which, &key);
    if (c == nullptr) return;
    switch (kind % 6) {
      case 0: c->on_host_consumed(n); break;
      case 1: {
        const uint32_t credit = c->send_credit();
        if (credit == 0 || n == 0) break;
        const Header rw = c->take_rw_header(n);
        check_ours(rw);
        if (rw.op != Op::kRw || rw.len > credit || rw.len > n || rw.len > kMaxPayload) std::abort();
        if (c->send_credit() != credit - rw.len) std::abort();
        sent[key] += rw.len;
        break;
      }
      case 2: c->on_host_eof(); break;
      case 3: c->on_host_gone(); break;
      case 4: c->reset(); break;
      case 5: c->want_credit(); break;
    }
  }

  void drain() {
    for (auto& [key, c] : table.connections())
      while (auto h = c.take_control_packet()) {
        check_ours(*h);
        if (h->src_port != key.local_port || h->dst_port != key.peer_port) std::abort();
        if (h->op == Op::kShutdown && (h->flags == 0 || (h->flags & ~kShutdownBoth) != 0))
          std::abort();
        if (h->op != Op::kShutdown && h->flags != 0) std::abort();
      }
    while (auto h = table.take_standalone_rst()) {
      if (h->op != Op::kRst || h->src_cid != kHostCid || h->dst_cid != kFuzzGuestCid) std::abort();
    }
    table.drop_finished();
    for (const auto& [key, c] : table.connections())
      if (c.finished()) std::abort();
  }

  void check_invariants() {
    if (table.size() > kFuzzLimits.max_connections) std::abort();
    for (auto& [key, c] : table.connections()) {
      if (c.buffered_from_guest() > kFuzzLimits.buf_alloc) std::abort();
      if (c.state() != ConnState::kEstablished && c.send_credit() != 0) std::abort();
      // Under 2^32 bytes per run, so no wrap: the guest never acknowledged more than we sent.
      if (c.unacked_to_guest() > sent[key]) std::abort();
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in{std::span<const uint8_t>(data, size)};
  Harness h;
  static const uint32_t kGuestPorts[] = {1234, 1235, 0xffffffff, 0};
  static const uint32_t kHostPorts[] = {52, 53, 1u << 30, 1024};
  int steps = 0;
  while (!in.empty() && ++steps < 512) {
    switch (in.take<uint8_t>() % 5) {
      case 0: {
        const uint16_t len = in.take<uint16_t>();
        h.guest_packet(in.take_span(len));
        break;
      }
      case 1: {
        Header hdr;
        hdr.src_cid = kFuzzGuestCid;
        hdr.dst_cid = kHostCid;
        hdr.op = static_cast<Op>(in.take<uint8_t>() % 9);
        const uint8_t ports = in.take<uint8_t>();
        hdr.src_port = kGuestPorts[ports & 3];
        hdr.dst_port = kHostPorts[(ports >> 2) & 3];
        hdr.flags = in.take<uint8_t>();
        hdr.len = in.take<uint16_t>();
        hdr.buf_alloc = in.take<uint32_t>();
        const uint32_t fwd = in.take<uint32_t>();
        hdr.fwd_cnt = fwd;
        if ((fwd & 0x80000000u) != 0) {
          const auto it = h.sent.find(ConnectionKey{hdr.dst_port, hdr.src_port});
          hdr.fwd_cnt = (it == h.sent.end() ? 0 : it->second) - (fwd & 0xfff);
        }
        std::vector<uint8_t> bytes(kHeaderSize + hdr.len, 0);
        encode_header(hdr, std::span<uint8_t, kHeaderSize>(bytes.data(), kHeaderSize));
        h.guest_packet(bytes);
        break;
      }
      case 2: {
        const uint8_t which = in.take<uint8_t>();
        const uint8_t kind = in.take<uint8_t>();
        h.host_event(which, kind, in.take<uint16_t>());
        break;
      }
      case 3: {
        const size_t before = h.table.size();
        auto key = h.table.open_from_host(kGuestPorts[in.take<uint8_t>() & 3]);
        if (key.ok() != (before < kFuzzLimits.max_connections)) std::abort();
        if (key.ok()) h.sent[*key] = 0;
        break;
      }
      case 4: h.drain(); break;
    }
    h.check_invariants();
  }
  h.drain();
  return 0;
}

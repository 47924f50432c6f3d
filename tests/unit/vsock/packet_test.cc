// The guest packet checks from an attacker's point of view: each row a packet a guest might
// put on the tx queue and whether the device takes it, with the reason when refused.
#include "devices/vsock/packet.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "guest_packets.h"

namespace bulwark::vsock {
namespace {

using testing::guest_bytes;
using testing::guest_header;
using testing::kGuestCid;

struct PacketCase {
  std::string name;
  Header header;
  size_t payload_present;
  std::string error_part;  // empty: accepted
};

Header with_type(Header h, uint16_t type) { h.type = type; return h; }
Header with_op(Header h, uint16_t op) { h.op = static_cast<Op>(op); return h; }
Header with_cids(Header h, uint64_t src, uint64_t dst) { h.src_cid = src; h.dst_cid = dst; return h; }
Header with_flags(Header h, uint32_t flags) { h.flags = flags; return h; }

TEST(VsockPacketTest, GuestPackets) {
  const PacketCase cases[] = {
      {"request", guest_header(Op::kRequest), 0, ""},
      {"rw", guest_header(Op::kRw, 100), 100, ""},
      {"rw_at_cap", guest_header(Op::kRw, kMaxPayload), kMaxPayload, ""},
      {"rw_empty", guest_header(Op::kRw, 0), 0, ""},
      {"shutdown_both", guest_header(Op::kShutdown, 0, kShutdownBoth), 0, ""},
      {"shutdown_send", guest_header(Op::kShutdown, 0, kShutdownSend), 0, ""},
      {"credit_request", guest_header(Op::kCreditRequest), 0, ""},
      {"rst", guest_header(Op::kRst), 0, ""},
      {"len_over_cap", guest_header(Op::kRw, kMaxPayload + 1), kMaxPayload + 1, "exceeds"},
      {"len_huge", guest_header(Op::kRw, 0xffffffff), 10, "exceeds"},
      {"len_beyond_present", guest_header(Op::kRw, 100), 99, "len 100 but 99"},
      {"len_short_of_present", guest_header(Op::kRw, 100), 101, "len 100 but 101"},
      {"seqpacket", with_type(guest_header(Op::kRequest), 2), 0, "not STREAM"},
      {"type_zero", with_type(guest_header(Op::kRequest), 0), 0, "not STREAM"},
      {"op_invalid", with_op(guest_header(Op::kRw), 0), 0, "unknown op 0"},
      {"op_eight", with_op(guest_header(Op::kRw), 8), 0, "unknown op 8"},
      {"op_huge", with_op(guest_header(Op::kRw), 0xffff), 0, "unknown op 65535"},
      {"src_cid_spoofed", with_cids(guest_header(Op::kRequest), 4, kHostCid), 0, "src_cid 4"},
      {"src_cid_host", with_cids(guest_header(Op::kRequest), kHostCid, kHostCid), 0, "src_cid 2"},
      {"dst_cid_other_guest", with_cids(guest_header(Op::kRequest), kGuestCid, 5), 0,
       "dst_cid 5"},
      {"dst_cid_any", with_cids(guest_header(Op::kRequest), kGuestCid, 0xffffffff), 0,
       "dst_cid"},
      {"flags_on_rw", with_flags(guest_header(Op::kRw, 1), 1), 1, "flags 1 on RW"},
      {"flags_on_request", with_flags(guest_header(Op::kRequest), 2), 0, "on REQUEST"},
      {"shutdown_no_flags", guest_header(Op::kShutdown), 0, "SHUTDOWN flags 0"},
      {"shutdown_unknown_flag", guest_header(Op::kShutdown, 0, 4), 0, "SHUTDOWN flags 4"},
      {"payload_on_request", guest_header(Op::kRequest, 5), 5, "payload of 5 bytes on REQUEST"},
      {"payload_on_credit_update", guest_header(Op::kCreditUpdate, 1), 1, "on CREDIT_UPDATE"},
  };
  for (const PacketCase& c : cases) {
    SCOPED_TRACE(c.name);
    const std::vector<uint8_t> bytes = guest_bytes(c.header, c.payload_present);
    auto parsed = parse_guest_packet(bytes, kGuestCid);
    if (c.error_part.empty()) {
      ASSERT_TRUE(parsed.ok()) << parsed.error().message();
      EXPECT_EQ(parsed->header, c.header);
      EXPECT_EQ(parsed->payload.size(), c.payload_present);
      EXPECT_EQ(parsed->payload.data(), bytes.data() + kHeaderSize);
    } else {
      ASSERT_FALSE(parsed.ok());
      EXPECT_NE(parsed.error().message().find(c.error_part), std::string::npos)
          << parsed.error().message();
    }
  }
}

TEST(VsockPacketTest, ShorterThanHeaderIsRefused) {
  const std::vector<uint8_t> bytes = guest_bytes(guest_header(Op::kRequest), 0);
  for (size_t n = 0; n < kHeaderSize; ++n) {
    auto parsed = parse_guest_packet(std::span(bytes).first(n), kGuestCid);
    ASSERT_FALSE(parsed.ok());
    EXPECT_NE(parsed.error().message().find("shorter than the 44-byte header"), std::string::npos);
  }
}

TEST(VsockPacketTest, EncodesTheSpecLayoutLittleEndian) {
  Header h;
  h.src_cid = 0x0102030405060708;
  h.dst_cid = 3;
  h.src_port = 0x11223344;
  h.dst_port = 0x55667788;
  h.len = 0x99;
  h.type = kTypeStream;
  h.op = Op::kCreditUpdate;
  h.flags = 0;
  h.buf_alloc = 0x40000;
  h.fwd_cnt = 0xdeadbeef;
  const auto b = encode_header(h);
  const std::vector<uint8_t> want = {
      0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,  // src_cid
      0x03, 0, 0, 0, 0, 0, 0, 0,                       // dst_cid
      0x44, 0x33, 0x22, 0x11,                          // src_port
      0x88, 0x77, 0x66, 0x55,                          // dst_port
      0x99, 0, 0, 0,                                   // len
      0x01, 0x00,                                      // type
      0x06, 0x00,                                      // op
      0, 0, 0, 0,                                      // flags
      0x00, 0x00, 0x04, 0x00,                          // buf_alloc
      0xef, 0xbe, 0xad, 0xde};                         // fwd_cnt
  EXPECT_EQ(std::vector<uint8_t>(b.begin(), b.end()), want);
  EXPECT_EQ(decode_header(b), h);
}

}  // namespace
}  // namespace bulwark::vsock

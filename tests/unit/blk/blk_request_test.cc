// The virtio-blk request parser: what it makes of chains a guest could offer.
#include "devices/blk/blk_request.h"

#include <gtest/gtest.h>

#include <cstring>

namespace bulwark::blk {
namespace {

std::vector<uint8_t> header(uint32_t type, uint64_t sector, uint32_t ioprio = 0) {
  std::vector<uint8_t> h(16);
  std::memcpy(h.data(), &type, 4);
  std::memcpy(h.data() + 4, &ioprio, 4);
  std::memcpy(h.data() + 8, &sector, 8);
  return h;
}

std::vector<uint8_t> segment(uint64_t sector, uint32_t count, uint32_t flags) {
  std::vector<uint8_t> s(16);
  std::memcpy(s.data(), &sector, 8);
  std::memcpy(s.data() + 8, &count, 4);
  std::memcpy(s.data() + 12, &flags, 4);
  return s;
}

TEST(BlkRequest, ReadTakesEveryWritableByteButTheLastAsData) {
  auto h = header(kTypeIn, 7, 3);
  std::vector<uint8_t> data(1024), status(1);
  virtio::DescriptorChain chain;
  chain.readable = {h};
  chain.writable = {std::span(data).first(512), std::span(data).subspan(512), status};
  auto request = parse_request(chain);
  ASSERT_TRUE(request.ok()) << request.error().message();
  EXPECT_EQ(request->type, kTypeIn);
  EXPECT_EQ(request->sector, 7u);
  EXPECT_EQ(request->ioprio, 3u);
  EXPECT_EQ(request->data_bytes, 1024u);
  EXPECT_EQ(request->in_data.size(), 2u);
  EXPECT_EQ(status_byte(chain).data(), status.data());
}

TEST(BlkRequest, StatusMayShareTheLastDataBuffer) {
  auto h = header(kTypeIn, 0);
  std::vector<uint8_t> data(513);
  virtio::DescriptorChain chain;
  chain.readable = {h};
  chain.writable = {data};
  auto request = parse_request(chain);
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(request->data_bytes, 512u);
  EXPECT_EQ(status_byte(chain).data(), data.data() + 512);
}

TEST(BlkRequest, WriteDataFollowsAHeaderSplitAcrossBuffers) {
  auto h = header(kTypeOut, 9);
  std::vector<uint8_t> first(h.begin(), h.begin() + 5), rest(h.begin() + 5, h.end());
  rest.resize(rest.size() + 512, 0xab);
  std::vector<uint8_t> status(1);
  virtio::DescriptorChain chain;
  chain.readable = {first, rest};
  chain.writable = {status};
  auto request = parse_request(chain);
  ASSERT_TRUE(request.ok()) << request.error().message();
  EXPECT_EQ(request->sector, 9u);
  ASSERT_EQ(request->data_bytes, 512u);
  ASSERT_EQ(request->out_data.size(), 1u);
  EXPECT_EQ(request->out_data[0][0], 0xab);
}

TEST(BlkRequest, RefusesAChainWithoutStatusByte) {
  auto h = header(kTypeFlush, 0);
  virtio::DescriptorChain chain;
  chain.readable = {h};
  EXPECT_FALSE(parse_request(chain).ok());
  EXPECT_TRUE(status_byte(chain).empty());
}

TEST(BlkRequest, RefusesAShortHeader) {
  std::vector<uint8_t> h(15), status(1);
  virtio::DescriptorChain chain;
  chain.readable = {h};
  chain.writable = {status};
  auto request = parse_request(chain);
  ASSERT_FALSE(request.ok());
  EXPECT_NE(request.error().message().find("header"), std::string::npos);
}

TEST(BlkRequest, RefusesDataThatIsNotWholeSectors) {
  auto h = header(kTypeIn, 0);
  std::vector<uint8_t> data(100), status(1);
  virtio::DescriptorChain chain;
  chain.readable = {h};
  chain.writable = {data, status};
  EXPECT_FALSE(parse_request(chain).ok());
}

TEST(BlkRequest, DiscardAndWriteZeroesCarrySegments) {
  for (uint32_t type : {kTypeDiscard, kTypeWriteZeroes}) {
    auto h = header(type, 0);
    auto s1 = segment(8, 16, 0);
    auto s2 = segment(100, 1, kSegmentFlagUnmap);
    std::vector<uint8_t> status(1);
    virtio::DescriptorChain chain;
    chain.readable = {h, s1, s2};
    chain.writable = {status};
    auto request = parse_request(chain);
    ASSERT_TRUE(request.ok()) << request.error().message();
    ASSERT_EQ(request->segments.size(), 2u);
    EXPECT_EQ(request->segments[0].sector, 8u);
    EXPECT_EQ(request->segments[0].num_sectors, 16u);
    EXPECT_EQ(request->segments[1].flags, kSegmentFlagUnmap);
  }
}

TEST(BlkRequest, RefusesPartialEmptyOrTooManySegments) {
  std::vector<uint8_t> status(1);
  auto h = header(kTypeDiscard, 0);
  std::vector<uint8_t> partial(15);
  std::vector<uint8_t> too_many((kMaxSegments + 1) * kSegmentSize);
  for (const std::vector<uint8_t>* list : {&partial, &too_many}) {
    virtio::DescriptorChain chain;
    chain.readable = {h, *list};
    chain.writable = {status};
    EXPECT_FALSE(parse_request(chain).ok());
  }
  virtio::DescriptorChain empty;
  empty.readable = {h};
  empty.writable = {status};
  EXPECT_FALSE(parse_request(empty).ok());
}

TEST(BlkRequest, UnknownTypesParseForAnUnsupportedAnswer) {
  auto h = header(0x1234, 0);
  std::vector<uint8_t> status(1);
  virtio::DescriptorChain chain;
  chain.readable = {h};
  chain.writable = {status};
  auto request = parse_request(chain);
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(request->type, 0x1234u);
}

TEST(BlkRequest, GetIdDataIsTheWritablePart) {
  auto h = header(kTypeGetId, 0);
  std::vector<uint8_t> id(20), status(1);
  virtio::DescriptorChain chain;
  chain.readable = {h};
  chain.writable = {id, status};
  auto request = parse_request(chain);
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(request->data_bytes, 20u);
}

}  // namespace
}  // namespace bulwark::blk

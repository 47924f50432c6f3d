// The launcher's control channel to a real bulwark-dev-blk (seccomp enforced): a rate limit set
// at run time holds requests back and can be lifted again; Pause holds a request back until
// Resume; GetStats counts what the guest did; garbage on the channel is answered "malformed"
// and the disk keeps serving.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "devices/blk/blk_request.h"
#include "devices/control/control_message.h"
#include "tests/unit/blk/device_process.h"
#include "tests/unit/blk/test_frontend.h"

namespace bulwark::test {
namespace {

constexpr int kControlFdInDevice = 5;  // start_device_process: more_fds start at 5

class BlkControlChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("bulwark-blk-control-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    image_path_ = dir_ / "disk.img";
    std::ofstream(image_path_, std::ios::binary) << std::string(1 << 20, 'x');
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    control_.reset(pair[0]);
    UniqueFd device_end(pair[1]);
    UniqueFd image(::open(image_path_.c_str(), O_RDWR | O_CLOEXEC));
    ASSERT_TRUE(image.valid());
    auto process = start_device_process(
        BULWARK_DEV_BLK_BINARY, {"--control-fd", std::to_string(kControlFdInDevice), "--seccomp", "enforce"},
        image.get(), {device_end.get()});
    ASSERT_TRUE(process.ok()) << process.error().message();
    device_ = std::move(*process);
    auto frontend = TestFrontend::create(UniqueFd(::dup(device_.socket.get())));
    ASSERT_TRUE(frontend.ok()) << frontend.error().message();
    frontend_ = std::move(*frontend);
    Status started = frontend_->start(~uint64_t{0} & ((1ull << 24) - 1));
    ASSERT_TRUE(started.ok()) << started.error().message();
  }
  void TearDown() override {
    frontend_.reset();
    device_.socket.reset();
    if (device_.pid > 0) device_.wait();
    std::filesystem::remove_all(dir_);
  }

  // A 64 KiB read at sector 0; its status byte.
  uint8_t read_64k() {
    TestFrontend& f = *frontend_;
    const uint64_t header = f.allocate(16);
    const uint32_t type = blk::kTypeIn;
    std::memcpy(f.guest(header), &type, 4);
    std::memset(f.guest(header + 4), 0, 12);
    const uint64_t data = f.allocate(65536);
    const uint64_t status = f.allocate(1);
    *f.guest(status) = 0xff;
    auto used = f.submit(0, {{header, 16, false}, {data, 65536, true}, {status, 1, true}});
    EXPECT_TRUE(used.ok()) << used.error().message();
    return *f.guest(status);
  }
  std::chrono::milliseconds time_six_reads() {
    const auto begin = std::chrono::steady_clock::now();
    for (int i = 0; i < 6; ++i) EXPECT_EQ(read_64k(), blk::kStatusOk) << "read " << i;
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - begin);
  }
  // Sends raw bytes on the control channel; the device's decoded answer.
  // `answered`: the command the bytes are (its answer's body depends on it).
  Result<devctl::ControlReply> exchange(std::span<const uint8_t> bytes, devctl::Op answered = devctl::Op::kSetRateLimit) {
    if (::send(control_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(bytes.size())) {
      return Error::from_errno("send", errno);
    }
    pollfd p{control_.get(), POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return Error("no answer within 5 s");
    devctl::Message answer{};
    const ssize_t n = ::recv(control_.get(), answer.data(), answer.size(), MSG_WAITALL);
    if (n != static_cast<ssize_t>(answer.size())) return Error("short answer");
    return devctl::decode_reply(answer, answered);
  }
  Result<devctl::ControlReply> exchange(const devctl::ControlCommand& command) {
    const devctl::Message bytes = devctl::encode_command(command);
    return exchange(std::span<const uint8_t>(bytes), command.op);
  }

  std::filesystem::path dir_, image_path_;
  UniqueFd control_;
  DeviceProcess device_;
  std::unique_ptr<TestFrontend> frontend_;
};

TEST_F(BlkControlChannelTest, ARateLimitSetAtRunTimeHoldsRequestsBackAndCanBeLifted) {
  EXPECT_LT(time_six_reads(), std::chrono::milliseconds(300)) << "no limit yet";

  devctl::ControlCommand set{devctl::Op::kSetRateLimit, {}};
  set.buckets[0] = {65536, 0, 100};  // 64 KiB per 100 ms
  auto reply = exchange(set);
  ASSERT_TRUE(reply.ok()) << reply.error().message();
  EXPECT_EQ(reply->status, devctl::ControlStatus::kOk);
  EXPECT_EQ(reply->buckets[0].size, 65536u);
  EXPECT_EQ(reply->buckets[0].refill_time_ms, 100u);
  EXPECT_GE(time_six_reads(), std::chrono::milliseconds(450)) << "the run-time limit did not hold requests back";

  auto get = exchange(devctl::ControlCommand{devctl::Op::kGetRateLimit, {}});
  ASSERT_TRUE(get.ok()) << get.error().message();
  EXPECT_EQ(get->status, devctl::ControlStatus::kOk);
  EXPECT_EQ(get->buckets[0].size, 65536u);
  EXPECT_FALSE(get->buckets[1].limited());

  // Lifted: unlimited buckets.
  auto lifted = exchange(devctl::ControlCommand{devctl::Op::kSetRateLimit, {}});
  ASSERT_TRUE(lifted.ok()) << lifted.error().message();
  EXPECT_EQ(lifted->status, devctl::ControlStatus::kOk);
  EXPECT_LT(time_six_reads(), std::chrono::milliseconds(300)) << "the limit was not lifted";
}

TEST_F(BlkControlChannelTest, ARequestSubmittedWhilePausedCompletesOnlyAfterResume) {
  EXPECT_EQ(read_64k(), blk::kStatusOk);
  auto paused = exchange(devctl::ControlCommand{devctl::Op::kPause, {}});
  ASSERT_TRUE(paused.ok()) << paused.error().message();
  EXPECT_EQ(paused->status, devctl::ControlStatus::kOk);
  // A second Pause is harmless (the launcher may retry).
  auto again = exchange(devctl::ControlCommand{devctl::Op::kPause, {}});
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(again->status, devctl::ControlStatus::kOk);

  TestFrontend& f = *frontend_;
  const uint64_t header = f.allocate(16);
  const uint32_t type = blk::kTypeIn;
  std::memcpy(f.guest(header), &type, 4);
  std::memset(f.guest(header + 4), 0, 12);
  const uint64_t data = f.allocate(4096);
  const uint64_t status = f.allocate(1);
  *f.guest(status) = 0xff;
  const uint16_t used_before = f.used_index(0);
  // Offered and kicked while paused: no answer, the ring untouched.
  auto held = f.submit(0, {{header, 16, false}, {data, 4096, true}, {status, 1, true}}, std::chrono::milliseconds(700));
  EXPECT_FALSE(held.ok()) << "a request was served while the disk was paused";
  EXPECT_EQ(f.used_index(0), used_before);
  EXPECT_EQ(*f.guest(status), 0xff);
  // The channel still answers while paused.
  auto stats = exchange(devctl::ControlCommand{devctl::Op::kGetStats, {}});
  ASSERT_TRUE(stats.ok()) << stats.error().message();
  EXPECT_EQ(stats->counters[devctl::kBlkReadRequests], 1u);

  auto resumed = exchange(devctl::ControlCommand{devctl::Op::kResume, {}});
  ASSERT_TRUE(resumed.ok()) << resumed.error().message();
  EXPECT_EQ(resumed->status, devctl::ControlStatus::kOk);
  // The kick that came while paused is not lost: the request completes with no new kick.
  EXPECT_TRUE(TestFrontend::wait_eventfd(f.call_fd(0), std::chrono::seconds(5))) << "not served after Resume";
  EXPECT_EQ(f.used_index(0), static_cast<uint16_t>(used_before + 1));
  EXPECT_EQ(*f.guest(status), blk::kStatusOk);
  EXPECT_EQ(f.guest(data)[0], 'x');
  EXPECT_EQ(read_64k(), blk::kStatusOk) << "the disk does not serve after Resume";
}

TEST_F(BlkControlChannelTest, GetStatsCountsTheGuestsRequestsBytesAndThrottling) {
  for (int i = 0; i < 3; ++i) EXPECT_EQ(read_64k(), blk::kStatusOk);
  TestFrontend& f = *frontend_;
  // One write of 512 bytes, one flush, one read past the end of the 1 MiB image (an error).
  auto request = [&f](uint32_t type, uint64_t sector, uint32_t bytes, bool in) {
    const uint64_t header = f.allocate(16);
    std::memcpy(f.guest(header), &type, 4);
    std::memset(f.guest(header + 4), 0, 4);
    std::memcpy(f.guest(header + 8), &sector, 8);
    std::vector<TestFrontend::Buffer> chain{{header, 16, false}};
    if (bytes > 0) chain.push_back({f.allocate(bytes), bytes, in});
    const uint64_t status = f.allocate(1);
    *f.guest(status) = 0xff;
    chain.push_back({status, 1, true});
    EXPECT_TRUE(f.submit(0, chain).ok());
    return *f.guest(status);
  };
  EXPECT_EQ(request(blk::kTypeOut, 8, 512, false), blk::kStatusOk);
  EXPECT_EQ(request(blk::kTypeFlush, 0, 0, false), blk::kStatusOk);
  EXPECT_EQ(request(blk::kTypeIn, 2048, 512, true), blk::kStatusIoErr);
  // A limit of 64 KiB per 100 ms makes the next two reads wait once at least.
  devctl::ControlCommand set{devctl::Op::kSetRateLimit, {}};
  set.buckets[0] = {65536, 0, 100};
  ASSERT_TRUE(exchange(set).ok());
  EXPECT_EQ(read_64k(), blk::kStatusOk);
  EXPECT_EQ(read_64k(), blk::kStatusOk);

  auto stats = exchange(devctl::ControlCommand{devctl::Op::kGetStats, {}});
  ASSERT_TRUE(stats.ok()) << stats.error().message();
  ASSERT_EQ(stats->status, devctl::ControlStatus::kOk);
  const devctl::Counters& c = stats->counters;
  EXPECT_EQ(c[devctl::kBlkReadRequests], 6u);
  EXPECT_EQ(c[devctl::kBlkWriteRequests], 1u);
  EXPECT_EQ(c[devctl::kBlkFlushRequests], 1u);
  EXPECT_EQ(c[devctl::kBlkReadBytes], 5u * 65536u) << "the failed read's bytes are not counted";
  EXPECT_EQ(c[devctl::kBlkWriteBytes], 512u);
  EXPECT_EQ(c[devctl::kBlkErrors], 1u);
  EXPECT_GE(c[devctl::kBlkThrottled], 1u);
  for (size_t i = devctl::kBlkThrottled + 1; i < devctl::kCounters; ++i) EXPECT_EQ(c[i], 0u) << "slot " << i;
  // GetStats with a body is malformed, and changes nothing.
  devctl::Message bad = devctl::encode_command({devctl::Op::kGetStats, {}});
  bad[8] = 1;
  auto refused = exchange(std::span<const uint8_t>(bad), devctl::Op::kGetStats);
  ASSERT_TRUE(refused.ok()) << refused.error().message();
  EXPECT_EQ(refused->status, devctl::ControlStatus::kMalformed);
}

TEST_F(BlkControlChannelTest, GarbageCommandsAreAnsweredMalformedAndTheDiskKeepsServing) {
  devctl::Message bad_version = devctl::encode_command({devctl::Op::kSetRateLimit, {}});
  bad_version[0] = 7;
  devctl::Message unknown_op = devctl::encode_command({devctl::Op::kSetRateLimit, {}});
  unknown_op[2] = 99;
  devctl::ControlCommand huge{devctl::Op::kSetRateLimit, {}};
  huge.buckets[0] = {uint64_t{1} << 41, 0, 100};
  const devctl::Message too_big = devctl::encode_command(huge);
  const std::vector<uint8_t> short_one(10, 0x41);
  for (std::span<const uint8_t> garbage : {std::span<const uint8_t>(bad_version), std::span<const uint8_t>(unknown_op),
                                           std::span<const uint8_t>(too_big), std::span<const uint8_t>(short_one)}) {
    auto reply = exchange(garbage);
    ASSERT_TRUE(reply.ok()) << reply.error().message();
    EXPECT_EQ(reply->status, devctl::ControlStatus::kMalformed);
    EXPECT_EQ(read_64k(), blk::kStatusOk) << "the disk stopped serving";
  }
  // A NIC's buckets to a disk: well formed, refused, nothing changed.
  devctl::ControlCommand nic{devctl::Op::kSetRateLimit, {}};
  nic.buckets[2] = {1000, 0, 100};
  auto refused = exchange(nic);
  ASSERT_TRUE(refused.ok()) << refused.error().message();
  EXPECT_EQ(refused->status, devctl::ControlStatus::kRefused);
  EXPECT_LT(time_six_reads(), std::chrono::milliseconds(300));

  // The launcher going away leaves the disk serving.
  control_.reset();
  EXPECT_EQ(read_64k(), blk::kStatusOk);
  frontend_.reset();
  device_.socket.reset();
  const int status = device_.wait();
  device_.pid = -1;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "wait status " << status;
}

}  // namespace
}  // namespace bulwark::test

// The real bulwark-dev-blk, under its seccomp policy (enforce), driven over vhost-user by a
// test frontend: every request the guest can make, then the image file's bytes on the host.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "devices/blk/blk_request.h"
#include "tests/unit/blk/device_process.h"
#include "tests/unit/blk/test_frontend.h"

namespace bulwark::test {
namespace {

namespace vu = vhost_user;
using blk::kSectorSize;

constexpr uint64_t kImageBytes = 1 << 20;  // 2048 sectors
constexpr uint64_t kBlkFeatureRo = 1ull << 5;

class BlkDeviceProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("bulwark-blk-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    image_path_ = dir_ / "disk.img";
    // A pattern in the image, and one byte past its last whole sector that must never change.
    std::vector<uint8_t> bytes(kImageBytes + 100);
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 7 + 1);
    std::ofstream(image_path_, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                        static_cast<std::streamsize>(bytes.size()));
    original_ = bytes;
  }
  void TearDown() override {
    if (device_.pid > 0) {
      frontend_.reset();
      device_.socket.reset();
      device_.wait();
    }
    std::filesystem::remove_all(dir_);
  }

  void start(std::vector<std::string> args, bool read_only = false) {
    UniqueFd image(::open(image_path_.c_str(), (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC));
    ASSERT_TRUE(image.valid());
    args.insert(args.end(), {"--seccomp", "enforce"});
    auto process = start_device_process(BULWARK_DEV_BLK_BINARY, args, image.get());
    ASSERT_TRUE(process.ok()) << process.error().message();
    device_ = std::move(*process);
    auto frontend = TestFrontend::create(UniqueFd(::dup(device_.socket.get())));
    ASSERT_TRUE(frontend.ok()) << frontend.error().message();
    frontend_ = std::move(*frontend);
    Status started = frontend_->start(~uint64_t{0} & ((1ull << 24) - 1));
    ASSERT_TRUE(started.ok()) << started.error().message();
  }

  // One request: header, then `data` (device-readable for writes, device-writable for reads
  // of `read_bytes`), then the status byte. Returns {status, used length}.
  struct Answer {
    uint8_t status;
    uint32_t used;
    uint64_t data_gpa;
  };
  Answer request(uint32_t type, uint64_t sector, std::span<const uint8_t> out, uint64_t in_bytes = 0) {
    TestFrontend& f = *frontend_;
    const uint64_t header = f.allocate(16);
    std::memcpy(f.guest(header), &type, 4);
    std::memset(f.guest(header + 4), 0, 4);
    std::memcpy(f.guest(header + 8), &sector, 8);
    std::vector<TestFrontend::Buffer> chain{{header, 16, false}};
    uint64_t data = 0;
    if (!out.empty()) {
      data = f.allocate(out.size());
      std::memcpy(f.guest(data), out.data(), out.size());
      chain.push_back({data, static_cast<uint32_t>(out.size()), false});
    }
    if (in_bytes > 0) {
      data = f.allocate(in_bytes);
      std::memset(f.guest(data), 0xee, in_bytes);
      chain.push_back({data, static_cast<uint32_t>(in_bytes), true});
    }
    const uint64_t status = f.allocate(1);
    *f.guest(status) = 0xff;
    chain.push_back({status, 1, true});
    auto used = f.submit(0, chain);
    EXPECT_TRUE(used.ok()) << used.error().message();
    return {*f.guest(status), used.ok() ? *used : 0, data};
  }

  std::vector<uint8_t> segment(uint64_t sector, uint32_t count, uint32_t flags) {
    std::vector<uint8_t> s(16);
    std::memcpy(s.data(), &sector, 8);
    std::memcpy(s.data() + 8, &count, 4);
    std::memcpy(s.data() + 12, &flags, 4);
    return s;
  }

  std::vector<uint8_t> image_bytes() {
    std::ifstream in(image_path_, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
  }

  // Ends the session and checks the device exited cleanly (seccomp did not kill it).
  void expect_clean_exit() {
    frontend_.reset();
    device_.socket.reset();
    const int status = device_.wait();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "wait status " << status;
  }

  std::filesystem::path dir_, image_path_;
  std::vector<uint8_t> original_;
  DeviceProcess device_;
  std::unique_ptr<TestFrontend> frontend_;
};

TEST_F(BlkDeviceProcessTest, ConfigReportsCapacityAndBlockSize) {
  start({"--serial", "disk-serial-1"});
  vu::DeviceConfig query{0, 60, 0, std::vector<uint8_t>(60)};
  auto reply = frontend_->call(vu::make_config_request(vu::Request::GET_CONFIG, query));
  ASSERT_TRUE(reply.ok()) << reply.error().message();
  auto config = vu::parse_device_config(*reply);
  ASSERT_TRUE(config.ok()) << config.error().message();
  uint64_t capacity = 0;
  uint32_t blk_size = 0;
  std::memcpy(&capacity, config->bytes.data(), 8);
  std::memcpy(&blk_size, config->bytes.data() + 20, 4);
  EXPECT_EQ(capacity, kImageBytes / kSectorSize);
  EXPECT_EQ(blk_size, 512u);
  EXPECT_EQ(frontend_->offered_features() & kBlkFeatureRo, 0u);
  EXPECT_NE(frontend_->offered_features() & (1ull << 13), 0u) << "DISCARD offered";
  expect_clean_exit();
}

TEST_F(BlkDeviceProcessTest, WriteReadFlushDiscardWriteZeroesAndGetIdReachTheImage) {
  start({"--serial", "bulwark-disk-0001"});
  std::vector<uint8_t> pattern(2 * kSectorSize);
  for (size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<uint8_t>(0x5a ^ i);

  Answer wrote = request(blk::kTypeOut, 10, pattern);
  EXPECT_EQ(wrote.status, blk::kStatusOk);
  EXPECT_EQ(wrote.used, 1u);

  Answer read = request(blk::kTypeIn, 10, {}, pattern.size());
  EXPECT_EQ(read.status, blk::kStatusOk);
  EXPECT_EQ(read.used, pattern.size() + 1);
  EXPECT_EQ(0, std::memcmp(frontend_->guest(read.data_gpa), pattern.data(), pattern.size()));

  EXPECT_EQ(request(blk::kTypeFlush, 0, {}).status, blk::kStatusOk);

  auto discard = segment(100, 8, 0);
  EXPECT_EQ(request(blk::kTypeDiscard, 0, discard).status, blk::kStatusOk);
  auto zeroes = segment(200, 4, 0);
  EXPECT_EQ(request(blk::kTypeWriteZeroes, 0, zeroes).status, blk::kStatusOk);
  auto zeroes_unmap = segment(300, 2, blk::kSegmentFlagUnmap);
  EXPECT_EQ(request(blk::kTypeWriteZeroes, 0, zeroes_unmap).status, blk::kStatusOk);

  Answer id = request(blk::kTypeGetId, 0, {}, 20);
  EXPECT_EQ(id.status, blk::kStatusOk);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(frontend_->guest(id.data_gpa)), 17), "bulwark-disk-0001");
  EXPECT_EQ(*frontend_->guest(id.data_gpa + 17), 0);

  EXPECT_EQ(request(0x77, 0, {}).status, blk::kStatusUnsupported);
  expect_clean_exit();

  std::vector<uint8_t> expected = original_;
  std::memcpy(expected.data() + 10 * kSectorSize, pattern.data(), pattern.size());
  // Discarded sectors read back as whatever the file system keeps (holes read as zero on
  // tmpfs/ext4); zeroed ones must be zero.
  std::fill_n(expected.begin() + 200 * kSectorSize, 4 * kSectorSize, 0);
  std::fill_n(expected.begin() + 300 * kSectorSize, 2 * kSectorSize, 0);
  std::vector<uint8_t> actual = image_bytes();
  ASSERT_EQ(actual.size(), expected.size());
  std::copy_n(actual.begin() + 100 * kSectorSize, 8 * kSectorSize, expected.begin() + 100 * kSectorSize);
  EXPECT_TRUE(actual == expected);
  // A punched hole reads as zeroes where the file system supports it.
  for (size_t i = 100 * kSectorSize; i < 108 * kSectorSize; ++i) {
    if (actual[i] != 0 && actual[i] != original_[i]) FAIL() << "discarded byte " << i << " is neither old nor zero";
  }
}

TEST_F(BlkDeviceProcessTest, RequestsPastTheEndFailAndLeaveTheFileAlone) {
  start({});
  std::vector<uint8_t> sector(2 * kSectorSize, 0x11);
  const uint64_t last = kImageBytes / kSectorSize - 1;
  // Straddling the end, wholly past it, and a sector number that overflows when scaled.
  EXPECT_EQ(request(blk::kTypeOut, last, sector).status, blk::kStatusIoErr);
  EXPECT_EQ(request(blk::kTypeOut, last + 5, sector).status, blk::kStatusIoErr);
  EXPECT_EQ(request(blk::kTypeOut, ~uint64_t{0} / 256, sector).status, blk::kStatusIoErr);
  EXPECT_EQ(request(blk::kTypeIn, last, {}, sector.size()).status, blk::kStatusIoErr);
  auto past = segment(last, 2, 0);
  EXPECT_EQ(request(blk::kTypeDiscard, 0, past).status, blk::kStatusIoErr);
  EXPECT_EQ(request(blk::kTypeWriteZeroes, 0, past).status, blk::kStatusIoErr);
  // The device carries on: the last sector itself is fine.
  EXPECT_EQ(request(blk::kTypeOut, last, std::span(sector).first(kSectorSize)).status, blk::kStatusOk);
  expect_clean_exit();
  std::vector<uint8_t> expected = original_;
  std::fill_n(expected.begin() + last * kSectorSize, kSectorSize, 0x11);
  EXPECT_TRUE(image_bytes() == expected) << "the file changed outside the last sector";
}

TEST_F(BlkDeviceProcessTest, ReadOnlyDiskRefusesWritesButReads) {
  start({"--read-only"}, true);
  EXPECT_NE(frontend_->offered_features() & kBlkFeatureRo, 0u);
  std::vector<uint8_t> sector(kSectorSize, 0x22);
  EXPECT_EQ(request(blk::kTypeOut, 0, sector).status, blk::kStatusIoErr);
  auto range = segment(0, 1, 0);
  EXPECT_EQ(request(blk::kTypeDiscard, 0, range).status, blk::kStatusIoErr);
  EXPECT_EQ(request(blk::kTypeWriteZeroes, 0, range).status, blk::kStatusIoErr);
  Answer read = request(blk::kTypeIn, 0, {}, kSectorSize);
  EXPECT_EQ(read.status, blk::kStatusOk);
  EXPECT_EQ(0, std::memcmp(frontend_->guest(read.data_gpa), original_.data(), kSectorSize));
  expect_clean_exit();
  EXPECT_TRUE(image_bytes() == original_);
}

// --read-only with a read-write fd: the kernel would allow the writes, so the device's own
// refusal is the only guard.
TEST_F(BlkDeviceProcessTest, ReadOnlyOptionRefusesWritesOnAReadWriteFd) {
  start({"--read-only"}, false);
  EXPECT_NE(frontend_->offered_features() & kBlkFeatureRo, 0u);
  std::vector<uint8_t> sector(kSectorSize, 0x22);
  EXPECT_EQ(request(blk::kTypeOut, 0, sector).status, blk::kStatusIoErr);
  auto range = segment(0, 1, 0);
  EXPECT_EQ(request(blk::kTypeDiscard, 0, range).status, blk::kStatusIoErr);
  EXPECT_EQ(request(blk::kTypeWriteZeroes, 0, range).status, blk::kStatusIoErr);
  expect_clean_exit();
  EXPECT_TRUE(image_bytes() == original_);
}

TEST_F(BlkDeviceProcessTest, AGuestThatBreaksTheQueueStopsItButNotTheProcess) {
  start({});
  // A descriptor pointing outside guest memory.
  frontend_->write_descriptor(0, 0, TestFrontend::kMemoryBytes - 8, 64, 0, 0);
  frontend_->offer(0, 0);
  ASSERT_TRUE(frontend_->kick(0).ok());
  EXPECT_TRUE(TestFrontend::wait_eventfd(frontend_->err_fd(0), std::chrono::seconds(5)));
  // Still serving messages.
  auto queues = frontend_->get_u64(vu::Request::GET_QUEUE_NUM);
  ASSERT_TRUE(queues.ok()) << queues.error().message();
  EXPECT_EQ(*queues, 1u);
  expect_clean_exit();
  EXPECT_TRUE(image_bytes() == original_);
}

TEST_F(BlkDeviceProcessTest, TwoQueuesServeIndependently) {
  UniqueFd image(::open(image_path_.c_str(), O_RDWR | O_CLOEXEC));
  auto process = start_device_process(BULWARK_DEV_BLK_BINARY, {"--queues", "2", "--seccomp", "enforce"}, image.get());
  ASSERT_TRUE(process.ok());
  device_ = std::move(*process);
  auto frontend = TestFrontend::create(UniqueFd(::dup(device_.socket.get())));
  ASSERT_TRUE(frontend.ok());
  frontend_ = std::move(*frontend);
  auto queues = frontend_->get_u64(vu::Request::GET_QUEUE_NUM);
  ASSERT_TRUE(queues.ok());
  EXPECT_EQ(*queues, 2u);
  ASSERT_TRUE(frontend_->start((1ull << 12) | (1ull << 9), 2).ok());
  EXPECT_NE(frontend_->offered_features() & (1ull << 12), 0u) << "MQ offered";
  const uint64_t header = frontend_->allocate(16);
  std::memset(frontend_->guest(header), 0, 16);  // IN, sector 0
  const uint64_t data = frontend_->allocate(512);
  const uint64_t status = frontend_->allocate(1);
  auto used = frontend_->submit(1, {{header, 16, false}, {data, 512, true}, {status, 1, true}});
  ASSERT_TRUE(used.ok()) << used.error().message();
  EXPECT_EQ(*frontend_->guest(status), blk::kStatusOk);
  EXPECT_EQ(0, std::memcmp(frontend_->guest(data), original_.data(), 512));
  expect_clean_exit();
}

// The same limiter as bulwark-dev-net's: 64 KiB per 100 ms, so six 64 KiB reads need at least
// five refills (the bucket starts full). Every request completes: a throttled request waits on
// its ring, it is never failed or dropped. (The bench, not this test, measures precision.)
TEST_F(BlkDeviceProcessTest, ARateLimitHoldsRequestsBackInsteadOfFailingThem) {
  start({"--rate-bytes", "65536:100"});
  const auto begin = std::chrono::steady_clock::now();
  for (int i = 0; i < 6; ++i) {
    const Answer answer = request(blk::kTypeIn, 0, {}, 65536);
    EXPECT_EQ(answer.status, blk::kStatusOk) << "request " << i;
    EXPECT_EQ(answer.used, 65536u + 1) << "request " << i;
  }
  const auto elapsed = std::chrono::steady_clock::now() - begin;
  EXPECT_GE(elapsed, std::chrono::milliseconds(450)) << "the limit did not hold requests back";
  expect_clean_exit();
}

TEST_F(BlkDeviceProcessTest, ARateLimitOnOperationsCountsEveryRequest) {
  start({"--rate-ops", "2:100"});
  const auto begin = std::chrono::steady_clock::now();
  for (int i = 0; i < 6; ++i) EXPECT_EQ(request(blk::kTypeFlush, 0, {}).status, blk::kStatusOk);
  EXPECT_GE(std::chrono::steady_clock::now() - begin, std::chrono::milliseconds(180));
  expect_clean_exit();
}

TEST(BlkDeviceProcessArgs, RefusesAWritableDiskOnAReadOnlyFdAndBadOptions) {
  char path[] = "/tmp/bulwark-blk-args-XXXXXX";
  UniqueFd file(::mkstemp(path));
  ASSERT_TRUE(file.valid());
  ASSERT_EQ(::ftruncate(file.get(), 4096), 0);
  UniqueFd read_only(::open(path, O_RDONLY | O_CLOEXEC));
  ::unlink(path);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{}, {"--queues", "0"}, {"--queues", "17"}, {"--serial", std::string(21, 'x')},
        {"--seccomp", "maybe"}, {"--bogus"}}) {
    auto process = start_device_process(BULWARK_DEV_BLK_BINARY, args, read_only.get());
    ASSERT_TRUE(process.ok());
    const int status = process->wait();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << "args accepted: " << args.size();
  }
}

}  // namespace
}  // namespace bulwark::test

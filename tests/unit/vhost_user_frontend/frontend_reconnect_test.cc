// The monitor's vhost-user frontend replacing a dead device process (issue 18) against REAL
// bulwark-dev-blk processes, without KVM: guest RAM in a memfd, a split ring the test writes as
// a guest would, the frontend doing what the monitor does. The first process is made to die
// with a request taken and not completed: the page holding that request's header is cut off
// the memfd (ftruncate) before the kick, so the process takes the request (noting it in the
// in-flight record) and dies of SIGBUS reading its header -- deterministic, unlike a SIGKILL
// timed against the I/O. The page is then put back (the guest's memory never changed for real)
// and a second process on the same image takes over through reconnect(): every request must
// end in the used ring exactly once and on the image.
#include <fcntl.h>
#include <signal.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "devices/vhost_user/channel.h"
#include "monitor/vhost_user/vhost_user_frontend.h"
#include "monitor/vmm/device_watch.h"
#include "tests/unit/blk/device_process.h"

namespace bulwark::vhost_user {
namespace {

constexpr uint64_t kReplaceRamBytes = 1 << 20;
constexpr uint64_t kReplaceCutAt = 0xF0000;  // the last 64 KiB: cut off to stop the first process
constexpr uint16_t kReplaceQueueSize = 16;
constexpr uint64_t kReplaceDesc = 0x0, kReplaceAvail = 0x1000, kReplaceUsed = 0x2000;
constexpr uint32_t kSector = 512;
constexpr uint16_t kDescNext = 1, kDescWrite = 2;

// One virtio-blk write: header, 512 bytes of data, status byte; three descriptors from `head`.
struct WriteRequest {
  uint16_t head;
  uint64_t sector;
  uint64_t header_gpa;  // data follows the header, the status byte the data
  uint8_t fill;
};

class FrontendReconnectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/bulwark-reconnect-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    image_path_ = dir_ / "disk.img";
    std::ofstream(image_path_, std::ios::binary).write(std::string(64 * kSector, '\0').data(), 64 * kSector);
    memfd_.reset(::memfd_create("guest-ram", MFD_CLOEXEC));
    ASSERT_TRUE(memfd_.valid());
    ASSERT_EQ(::ftruncate(memfd_.get(), kReplaceRamBytes), 0);
    void* base = ::mmap(nullptr, kReplaceRamBytes, PROT_READ | PROT_WRITE, MAP_SHARED, memfd_.get(), 0);
    ASSERT_NE(base, MAP_FAILED);
    ram_bytes_ = static_cast<uint8_t*>(base);
    ram_ = {memfd_.get(), {{0, kReplaceRamBytes, ram_bytes_, 0}}};
    kick_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    call_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    ASSERT_TRUE(kick_.valid() && call_.valid());
  }

  void TearDown() override {
    frontend_.reset();
    for (test::DeviceProcess& process : processes_) {
      process.socket.reset();
      if (process.pid > 0) ::kill(process.pid, SIGKILL);
      process.wait();
    }
    if (record_ != nullptr) ::munmap(record_, record_bytes_);
    if (ram_bytes_ != nullptr) ::munmap(ram_bytes_, kReplaceRamBytes);
    std::filesystem::remove_all(dir_);
  }

  // A fresh bulwark-dev-blk on the image; returns the frontend's end of its socket.
  UniqueFd start_device() {
    UniqueFd image(::open(image_path_.c_str(), O_RDWR | O_CLOEXEC));
    EXPECT_TRUE(image.valid());
    auto process = test::start_device_process(BULWARK_DEV_BLK_BINARY, {"--seccomp", "enforce"}, image.get());
    EXPECT_TRUE(process.ok()) << process.error().message();
    if (!process.ok()) return UniqueFd();
    UniqueFd socket = std::move(process->socket);
    processes_.push_back(std::move(*process));
    return socket;
  }

  // SIGKILLs the device process and lets the monitor's main-loop watch see the hang-up.
  void kill_device_under(vmm::DeviceWatch& watch) {
    ::kill(processes_[0].pid, SIGKILL);
    processes_[0].wait();
    std::vector<pollfd> fds;
    watch.add_pollfds(fds);
    ASSERT_EQ(fds.size(), 2u);  // the device's socket and its error eventfd
    EXPECT_EQ(fds[0].fd, frontend_->socket_fd());
    ASSERT_EQ(::poll(fds.data(), fds.size(), 5000), 1);
    watch.handle(fds, 0, [](std::function<void()> fn) { fn(); });
  }

  // `replacement_possible`: whether the test plays a launcher that replaces dead processes.
  void connect_and_activate(bool replacement_possible = true) {
    FrontendOptions options;
    options.name = "vhost-user-blk 0 (test)";
    options.replacement_possible = replacement_possible;
    auto frontend = VhostUserFrontend::connect(start_device(), DeviceKind::kBlock, ram_, options);
    ASSERT_TRUE(frontend.ok()) << frontend.error().message();
    frontend_ = std::move(*frontend);
    ASSERT_NE(frontend_->protocol_features() & (1ULL << kProtocolInflightShmfd), 0u)
        << "bulwark-dev-blk no longer offers INFLIGHT_SHMFD";
    const virtio_pci::QueueSetup queue{0, kReplaceQueueSize, kReplaceDesc, kReplaceAvail, kReplaceUsed,
                                       kick_.get(), call_.get()};
    ASSERT_TRUE(frontend_->activate(kVirtioFVersion1, std::span(&queue, 1)).ok());
    // The record the frontend asked for, as the test (not the monitor) looks at it.
    ASSERT_GE(frontend_->inflight_fd(), 0);
    struct stat st {};
    ASSERT_EQ(::fstat(frontend_->inflight_fd(), &st), 0);
    record_bytes_ = static_cast<size_t>(st.st_size);
    void* record = ::mmap(nullptr, record_bytes_, PROT_READ, MAP_SHARED, frontend_->inflight_fd(), 0);
    ASSERT_NE(record, MAP_FAILED);
    record_ = static_cast<uint8_t*>(record);
  }

  template <typename T>
  void put(uint64_t gpa, T value) {
    std::memcpy(ram_bytes_ + gpa, &value, sizeof value);
  }
  template <typename T>
  T get(uint64_t gpa) const {
    T value;
    std::memcpy(&value, ram_bytes_ + gpa, sizeof value);
    return value;
  }
  void descriptor(uint16_t index, uint64_t gpa, uint32_t length, uint16_t flags, uint16_t next) {
    const uint64_t at = kReplaceDesc + 16ULL * index;
    put<uint64_t>(at, gpa);
    put<uint32_t>(at + 8, length);
    put<uint16_t>(at + 12, flags);
    put<uint16_t>(at + 14, next);
  }
  // The request's header and data in guest RAM (the data: 512 bytes of `fill`).
  void write_buffers(const WriteRequest& r) {
    put<uint32_t>(r.header_gpa, 1);  // VIRTIO_BLK_T_OUT
    put<uint32_t>(r.header_gpa + 4, 0);
    put<uint64_t>(r.header_gpa + 8, r.sector);
    std::memset(ram_bytes_ + r.header_gpa + 16, r.fill, kSector);
    put<uint8_t>(r.header_gpa + 16 + kSector, 0xff);
  }
  void offer(const std::vector<WriteRequest>& requests) {
    uint16_t slot = 0;
    for (const WriteRequest& r : requests) {
      write_buffers(r);
      descriptor(r.head, r.header_gpa, 16, kDescNext, static_cast<uint16_t>(r.head + 1));
      descriptor(r.head + 1, r.header_gpa + 16, kSector, kDescNext, static_cast<uint16_t>(r.head + 2));
      descriptor(r.head + 2, r.header_gpa + 16 + kSector, 1, kDescWrite, 0);
      put<uint16_t>(kReplaceAvail + 4 + 2ULL * slot++, r.head);
    }
    std::atomic_thread_fence(std::memory_order_seq_cst);
    put<uint16_t>(kReplaceAvail + 2, slot);
  }
  void kick() {
    const uint64_t one = 1;
    ASSERT_EQ(::write(kick_.get(), &one, sizeof one), static_cast<ssize_t>(sizeof one));
  }
  uint16_t used_idx() const { return __atomic_load_n(reinterpret_cast<uint16_t*>(ram_bytes_ + kReplaceUsed + 2), __ATOMIC_ACQUIRE); }
  bool wait_used(uint16_t count) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (used_idx() != count) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }
  // The record's in-flight flag of `head` on queue 0 (16-byte header, 16-byte entries).
  uint8_t in_flight(uint16_t head) const { return record_[16 + 16ULL * head]; }
  std::vector<uint8_t> image_sector(uint64_t sector) const {
    std::ifstream in(image_path_, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(sector * kSector));
    std::vector<uint8_t> bytes(kSector);
    in.read(reinterpret_cast<char*>(bytes.data()), kSector);
    return bytes;
  }
  // Kills the first device process the way the test does it: the kick, with the page of the
  // last request's header cut off. Returns once it is dead.
  void die_holding(const std::vector<WriteRequest>& requests) {
    ASSERT_EQ(::ftruncate(memfd_.get(), kReplaceCutAt), 0);
    kick();
    int status = 0;
    ASSERT_EQ(::waitpid(processes_[0].pid, &status, 0), processes_[0].pid);
    processes_[0].pid = -1;
    ASSERT_TRUE(WIFSIGNALED(status)) << "status " << status;
    // SIGBUS; in sanitizer builds the runtime catches it and its report's calls break the
    // device's seccomp policy (SIGSYS). Either way the process died in the middle of a request.
    EXPECT_TRUE(WTERMSIG(status) == SIGBUS || WTERMSIG(status) == SIGSYS) << "signal " << WTERMSIG(status);
    // Put the page back as the guest had it.
    ASSERT_EQ(::ftruncate(memfd_.get(), kReplaceRamBytes), 0);
    write_buffers(requests.back());
  }

  std::filesystem::path dir_, image_path_;
  UniqueFd memfd_;
  uint8_t* ram_bytes_ = nullptr;
  SharedGuestRam ram_;
  UniqueFd kick_, call_;
  std::vector<test::DeviceProcess> processes_;
  std::unique_ptr<VhostUserFrontend> frontend_;
  uint8_t* record_ = nullptr;
  size_t record_bytes_ = 0;
};

const std::vector<WriteRequest> kThreeWrites = {
    {0, 3, 0x10000, 0xa1}, {3, 7, 0x11000, 0xb2}, {6, 11, kReplaceCutAt + 0x1000, 0xc3}};

TEST_F(FrontendReconnectTest, AReplacementProcessCompletesWhatItsPredecessorTookExactlyOnce) {
  connect_and_activate();
  offer(kThreeWrites);
  die_holding(kThreeWrites);
  // The dead process had taken the third request and not completed it: only the record knows.
  EXPECT_EQ(in_flight(6), 1) << "the test did not kill the device with a request in flight";
  EXPECT_LT(used_idx(), 3);

  frontend_->disconnect("test: the device process died");
  EXPECT_TRUE(frontend_->disconnected());
  EXPECT_FALSE(frontend_->failed());

  Status reconnected = frontend_->reconnect(start_device());
  ASSERT_TRUE(reconnected.ok()) << reconnected.error().message();
  EXPECT_FALSE(frontend_->disconnected());
  ASSERT_TRUE(wait_used(3)) << "used idx " << used_idx();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // nothing more may come
  EXPECT_EQ(used_idx(), 3);
  std::map<uint32_t, int> seen;
  for (uint16_t slot = 0; slot < 3; ++slot) ++seen[get<uint32_t>(kReplaceUsed + 4 + 8ULL * slot)];
  EXPECT_EQ(seen, (std::map<uint32_t, int>{{0, 1}, {3, 1}, {6, 1}}));
  for (const WriteRequest& r : kThreeWrites) {
    EXPECT_EQ(get<uint8_t>(r.header_gpa + 16 + kSector), 0) << "status of head " << r.head;
    EXPECT_EQ(image_sector(r.sector), std::vector<uint8_t>(kSector, r.fill)) << "sector " << r.sector;
    EXPECT_EQ(in_flight(r.head), 0) << "the replacement did not update the record it was handed";
  }
  // And the replacement serves new requests after them.
  const std::vector<WriteRequest> more = {{9, 20, 0x12000, 0xd4}};
  write_buffers(more[0]);
  descriptor(9, 0x12000, 16, kDescNext, 10);
  descriptor(10, 0x12000 + 16, kSector, kDescNext, 11);
  descriptor(11, 0x12000 + 16 + kSector, 1, kDescWrite, 0);
  put<uint16_t>(kReplaceAvail + 4 + 2 * 3, 9);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  put<uint16_t>(kReplaceAvail + 2, 4);
  kick();
  ASSERT_TRUE(wait_used(4));
  EXPECT_EQ(image_sector(20), std::vector<uint8_t>(kSector, 0xd4));
}

TEST_F(FrontendReconnectTest, ResetDropsTheRecordAndTheNextStartAsksForAFreshOne) {
  connect_and_activate();
  const int first = frontend_->inflight_fd();
  struct stat before {};
  ASSERT_EQ(::fstat(first, &before), 0);
  frontend_->reset();
  EXPECT_EQ(frontend_->inflight_fd(), -1);
  const virtio_pci::QueueSetup queue{0, kReplaceQueueSize, kReplaceDesc, kReplaceAvail, kReplaceUsed,
                                     kick_.get(), call_.get()};
  ASSERT_TRUE(frontend_->activate(kVirtioFVersion1, std::span(&queue, 1)).ok());
  struct stat after {};
  ASSERT_GE(frontend_->inflight_fd(), 0);
  ASSERT_EQ(::fstat(frontend_->inflight_fd(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino) << "the old rings' record was reused after a reset";
  EXPECT_FALSE(frontend_->failed());
}

TEST_F(FrontendReconnectTest, AProcessThatIsStillThereIsNotReplaced) {
  connect_and_activate();
  Status refused = frontend_->reconnect(start_device());
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("has not gone away"), std::string::npos) << refused.error().message();
  EXPECT_FALSE(frontend_->failed());
  EXPECT_FALSE(frontend_->disconnected());
}

// The replacement offers other virtio features: the device fails, naming both sets.
TEST_F(FrontendReconnectTest, AReplacementWithOtherFeaturesFailsTheDevice) {
  connect_and_activate();
  ::kill(processes_[0].pid, SIGKILL);
  processes_[0].wait();
  EXPECT_TRUE(frontend_->disconnect("test: killed"));

  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  UniqueFd fake(pair[1]);
  constexpr uint64_t kOtherFeatures = kVirtioFVersion1 | (1ULL << 30);
  std::thread backend([&fake] {
    for (;;) {
      auto message = receive_message_within(fake.get(), std::chrono::seconds(5));
      if (!message.ok()) return;
      if (message->request == static_cast<uint32_t>(Request::GET_FEATURES)) {
        (void)send_message(fake.get(), make_u64_reply(*message, kOtherFeatures));
      }
    }
  });
  Status outcome = frontend_->reconnect(UniqueFd(pair[0]));
  ::shutdown(fake.get(), SHUT_RDWR);
  backend.join();
  ASSERT_FALSE(outcome.ok());
  EXPECT_TRUE(frontend_->failed());
  EXPECT_FALSE(frontend_->disconnected());
  const std::string failure = frontend_->failure();
  EXPECT_NE(failure.find("offers features 0x140000000"), std::string::npos) << failure;
  EXPECT_NE(failure.find("negotiated with"), std::string::npos) << failure;
  // A failed device refuses everything from then on.
  const virtio_pci::QueueSetup queue{0, kReplaceQueueSize, kReplaceDesc, kReplaceAvail, kReplaceUsed,
                                     kick_.get(), call_.get()};
  EXPECT_FALSE(frontend_->activate(kVirtioFVersion1, std::span(&queue, 1)).ok());
}

// The monitor's main-loop watch: a hang-up makes a device with a record wait for its
// replacement (not failed, the transport not told, its socket no longer watched); the
// replacement's socket is watched from then on.
TEST_F(FrontendReconnectTest, TheWatchLetsADeviceWithARecordWaitForItsReplacement) {
  connect_and_activate();
  int hang_ups = 0;
  vmm::DeviceWatch watch({frontend_.get()}, [&hang_ups](size_t) { ++hang_ups; }, [](size_t) {});
  kill_device_under(watch);
  EXPECT_TRUE(frontend_->disconnected());
  EXPECT_FALSE(frontend_->failed());
  EXPECT_EQ(hang_ups, 0);
  std::vector<pollfd> fds;
  watch.add_pollfds(fds);
  EXPECT_TRUE(fds.empty()) << "the dead socket is still watched";

  ASSERT_TRUE(frontend_->reconnect(start_device()).ok());
  watch.add_pollfds(fds);
  ASSERT_EQ(fds.size(), 2u);
  EXPECT_EQ(fds[0].fd, frontend_->socket_fd());
  EXPECT_EQ(::poll(fds.data(), fds.size(), 0), 0) << "the replacement's socket reads as hung up";
}

// A monitor nobody can hand a replacement (started without a launcher's control channel): the
// hang-up of a device with a record fails it at once, and the transport is told, instead of the
// guest's requests waiting for good.
TEST_F(FrontendReconnectTest, WithoutALauncherToReplaceItAHangUpFailsTheDevice) {
  connect_and_activate(/*replacement_possible=*/false);
  int hang_ups = 0;
  vmm::DeviceWatch watch({frontend_.get()}, [&hang_ups](size_t) { ++hang_ups; }, [](size_t) {});
  kill_device_under(watch);
  EXPECT_TRUE(frontend_->failed());
  EXPECT_FALSE(frontend_->disconnected());
  EXPECT_EQ(hang_ups, 1);
}

// A backend without INFLIGHT_SHMFD (a stand-in that answers only the handshake of an entropy
// device) leaves nothing to hand a replacement: its hang-up fails the device, as before.
TEST_F(FrontendReconnectTest, WithoutARecordAHangUpFailsTheDevice) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  UniqueFd fake(pair[1]);
  std::thread backend([&fake] {
    for (int answered = 0; answered < 2;) {
      auto message = receive_message_within(fake.get(), std::chrono::seconds(5));
      if (!message.ok()) return;
      if (message->request == static_cast<uint32_t>(Request::GET_FEATURES)) {
        (void)send_message(fake.get(), make_u64_reply(*message, kVirtioFVersion1 | (1ULL << 30)));
        ++answered;
      } else if (message->request == static_cast<uint32_t>(Request::GET_PROTOCOL_FEATURES)) {
        (void)send_message(fake.get(), make_u64_reply(*message, 0));
        ++answered;
      }
    }
  });
  FrontendOptions options;
  options.name = "vhost-user-rng 0 (test)";
  auto frontend = VhostUserFrontend::connect(UniqueFd(pair[0]), DeviceKind::kRng, ram_, options);
  backend.join();
  ASSERT_TRUE(frontend.ok()) << frontend.error().message();
  fake.reset();
  int hang_ups = 0;
  vmm::DeviceWatch watch({frontend->get()}, [&hang_ups](size_t) { ++hang_ups; }, [](size_t) {});
  std::vector<pollfd> fds;
  watch.add_pollfds(fds);
  ASSERT_EQ(::poll(fds.data(), fds.size(), 5000), 1);
  watch.handle(fds, 0, [](std::function<void()> fn) { fn(); });
  EXPECT_TRUE((*frontend)->failed());
  EXPECT_FALSE((*frontend)->disconnected());
  EXPECT_EQ(hang_ups, 1);
  EXPECT_FALSE((*frontend)->reconnect(start_device()).ok());
}

// While the process is gone, a guest's reset and restart cost no round trip and are replayed.
TEST_F(FrontendReconnectTest, AGuestRestartWhileDisconnectedIsReplayedByTheReplacement) {
  connect_and_activate();
  ::kill(processes_[0].pid, SIGKILL);
  processes_[0].wait();
  ASSERT_TRUE(frontend_->disconnect("test: killed"));
  frontend_->reset();
  EXPECT_FALSE(frontend_->failed());
  const virtio_pci::QueueSetup queue{0, kReplaceQueueSize, kReplaceDesc, kReplaceAvail, kReplaceUsed,
                                     kick_.get(), call_.get()};
  ASSERT_TRUE(frontend_->activate(kVirtioFVersion1, std::span(&queue, 1)).ok());
  EXPECT_TRUE(frontend_->disconnected());
  const std::vector<WriteRequest> one = {{0, 5, 0x10000, 0x5a}};
  offer(one);
  kick();  // kept by the kick eventfd until the replacement reads it
  Status reconnected = frontend_->reconnect(start_device());
  ASSERT_TRUE(reconnected.ok()) << reconnected.error().message();
  ASSERT_TRUE(wait_used(1));
  EXPECT_EQ(image_sector(5), std::vector<uint8_t>(kSector, 0x5a));
}

}  // namespace
}  // namespace bulwark::vhost_user

// A VhostUserFrontend against a scripted, hostile backend on a socketpair. The input is a plan:
// its first bytes choose the device and what the transport asks of the frontend (config reads
// and writes, activate, reset); the rest drives the backend, which for every request that
// expects a reply answers correctly, with another request's code, without the reply flag, with
// arbitrary bytes, an attached fd, silence (the frontend's timeout) or a hang-up. Whatever
// happens the frontend must not crash or hang, and must end either working or failed, with a
// failed device refusing everything.
// The backend runs in the fuzzing thread, from the frontend's before-reply-wait hook, with a zero
// reply timeout: each input is deterministic and a silent backend costs no wall time (a backend
// thread and a real timeout made this target about 300 runs per second).
#include <fcntl.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "bulwark/common/log.h"
#include "bulwark/common/unique_fd.h"
#include "devices/vhost_user/channel.h"
#include "devices/vhost_user/protocol.h"
#include "monitor/vhost_user/vhost_user_frontend.h"

namespace {

using namespace bulwark;
using namespace bulwark::vhost_user;

constexpr size_t kPlanBytes = 8;
constexpr uint64_t kRamBytes = 256 << 10;
constexpr uint64_t kQueueStride = 0x4000;

// Consumes the backend's part of the input, byte by byte; past its end every answer is the
// correct one.
class Script {
 public:
  explicit Script(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  bool empty() const { return at_ >= bytes_.size(); }
  uint8_t byte(uint8_t fallback) { return empty() ? fallback : bytes_[at_++]; }
  uint64_t u64(uint64_t fallback) {
    if (bytes_.size() - at_ < 8 || empty()) return fallback;
    uint64_t value;
    std::memcpy(&value, bytes_.data() + at_, 8);
    at_ += 8;
    return value;
  }
  std::vector<uint8_t> take(size_t n) {
    n = std::min(n, bytes_.size() - std::min(at_, bytes_.size()));
    std::vector<uint8_t> out(bytes_.begin() + static_cast<ptrdiff_t>(at_),
                             bytes_.begin() + static_cast<ptrdiff_t>(at_ + n));
    at_ += n;
    return out;
  }

 private:
  std::span<const uint8_t> bytes_;
  size_t at_ = 0;
};

std::vector<uint8_t> u64_bytes(uint64_t value) {
  std::vector<uint8_t> out(8);
  std::memcpy(out.data(), &value, 8);
  return out;
}

// The payload a well-behaved backend would send (values from the script when it has them).
std::vector<uint8_t> good_payload(const Message& request, Script& script) {
  switch (static_cast<Request>(request.request)) {
    case Request::GET_FEATURES:
      return u64_bytes(script.u64((1ULL << 32) | (1ULL << 30) | (1ULL << 29) | (1ULL << 28) |
                                  (1ULL << 12) | (1ULL << 9) | (1ULL << 6)));
    case Request::GET_PROTOCOL_FEATURES:
      return u64_bytes(script.u64((1ULL << 0) | (1ULL << 3) | (1ULL << 9)));
    case Request::GET_QUEUE_NUM:
      return u64_bytes(script.u64(4));
    case Request::GET_CONFIG: {
      std::vector<uint8_t> payload = request.payload;  // offset, size, flags, zeroed bytes
      for (size_t i = 12; i < payload.size(); ++i) payload[i] = script.byte(i == 12 + 34 ? 2 : 0);
      return payload;
    }
    case Request::GET_VRING_BASE: {
      std::vector<uint8_t> payload = request.payload;  // same index, num from the script
      if (payload.size() == 8) payload[4] = script.byte(0);
      return payload;
    }
    default:
      return u64_bytes(script.byte(0) < 16 ? 1 : 0);  // REPLY_ACK status, now and then a refusal
  }
}

bool expects_reply(const Message& request) {
  switch (static_cast<Request>(request.request)) {
    case Request::GET_FEATURES:
    case Request::GET_PROTOCOL_FEATURES:
    case Request::GET_QUEUE_NUM:
    case Request::GET_CONFIG:
    case Request::GET_VRING_BASE:
      return true;
    default:
      return (request.flags & kNeedReplyFlag) != 0;
  }
}

void send_raw(int fd, const std::vector<uint8_t>& bytes) {
  if (!bytes.empty()) (void)::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
}

// The backend: answers every request queued on its end of the socket (non-blocking), as the
// script says, until the script hangs up.
class Backend {
 public:
  Backend(UniqueFd socket, Script script) : socket_(std::move(socket)), script_(script) {}
  void pump() {
    while (socket_.valid()) {
      Result<Message> request = receive_message(socket_.get());
      if (!request.ok()) return;  // nothing queued (EAGAIN), or the frontend is gone
      if (!expects_reply(*request)) continue;
      if (!answer(*request)) socket_.reset();  // hang up
    }
  }

 private:
  // False: hang up.
  bool answer(const Message& request) {
    const uint8_t mode = script_.byte(0);
    Message reply;
    reply.request = request.request;
    reply.flags = kVersion1 | kReplyFlag;
    switch (mode % 10) {
      case 4: reply.request = script_.byte(1); break;
      case 5: reply.flags = kVersion1; break;
      case 6: send_raw(socket_.get(), script_.take(script_.byte(12))); return true;
      case 7: return false;
      case 8: return true;  // silence: the frontend times out
      case 9: {
        reply.payload = script_.take(script_.byte(8));
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) == 0) {
          reply.fds.emplace_back(fds[0]);
          ::close(fds[1]);
        }
        break;
      }
      default: break;
    }
    if (mode % 10 != 9) reply.payload = good_payload(request, script_);
    return send_message(socket_.get(), reply).ok();
  }

  UniqueFd socket_;
  Script script_;
};

struct GuestRam {
  UniqueFd memfd;
  uint8_t* base = nullptr;
  ~GuestRam() {
    if (base != nullptr) ::munmap(base, kRamBytes);
  }
};

void check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool once = [] {
    ::signal(SIGPIPE, SIG_IGN);
    log::set_min_level(log::Level::kError);
    return true;
  }();
  (void)once;
  if (size < kPlanBytes) return 0;
  const std::span<const uint8_t> plan(data, kPlanBytes);

  // One guest RAM for the whole run: the frontend only passes it on (SET_MEM_TABLE).
  static GuestRam ram;
  if (ram.base == nullptr) {
    ram.memfd.reset(::memfd_create("fuzz-ram", MFD_CLOEXEC));
    if (!ram.memfd.valid() || ::ftruncate(ram.memfd.get(), kRamBytes) != 0) return 0;
    void* mapped = ::mmap(nullptr, kRamBytes, PROT_READ | PROT_WRITE, MAP_SHARED, ram.memfd.get(), 0);
    if (mapped == MAP_FAILED) return 0;
    ram.base = static_cast<uint8_t*>(mapped);
  }
  SharedGuestRam shared{ram.memfd.get(), {{0, kRamBytes, ram.base, 0}}};

  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return 0;
  UniqueFd frontend_end(pair[0]);
  UniqueFd backend_end(pair[1]);
  if (::fcntl(backend_end.get(), F_SETFL, O_NONBLOCK) != 0) return 0;
  Backend backend(std::move(backend_end),
                  Script(std::span<const uint8_t>(data + kPlanBytes, size - kPlanBytes)));

  const DeviceKind kind = (plan[0] & 1) != 0 ? DeviceKind::kRng : DeviceKind::kBlock;
  FrontendOptions options;
  options.name = "fuzz";
  options.reply_timeout = std::chrono::milliseconds(0);
  options.before_reply_wait = [&backend] { backend.pump(); };
  auto frontend = VhostUserFrontend::connect(std::move(frontend_end), kind, shared, options);
  if (frontend.ok()) {
    VhostUserFrontend& device = **frontend;
    check((device.device_features() & ~profile_of(kind).supported_features) == 0,
          "offered a feature the monitor does not support");
    check(device.num_queues() >= 1 && device.num_queues() <= profile_of(kind).max_queues,
          "queue count out of range");
    std::vector<UniqueFd> eventfds;
    for (size_t step = 1; step < kPlanBytes; ++step) {
      const uint8_t op = plan[step];
      switch (op % 4) {
        case 0: {
          std::vector<uint8_t> bytes(op % 9);
          const bool ok = device.read_config(op, bytes).ok();
          check(ok != device.failed(), "read_config disagrees with failed()");
          break;
        }
        case 1: {
          const uint8_t writeback = op >> 7;
          (void)device.write_config(32, std::span<const uint8_t>(&writeback, 1));
          break;
        }
        case 2: {
          std::vector<virtio_pci::QueueSetup> queues;
          const uint16_t count = static_cast<uint16_t>(1 + (op >> 2) % device.num_queues());
          for (uint16_t i = 0; i < count; ++i) {
            eventfds.emplace_back(::eventfd(0, EFD_CLOEXEC));
            eventfds.emplace_back(::eventfd(0, EFD_CLOEXEC));
            const uint64_t at = i * kQueueStride;
            queues.push_back({i, static_cast<uint16_t>(16 << ((op >> 5) & 1)), at, at + 0x1000,
                              at + 0x2000, eventfds[eventfds.size() - 2].get(),
                              eventfds.back().get()});
          }
          const bool was_failed = device.failed();
          const bool ok = device.activate(device.device_features(), queues).ok();
          check(!(ok && device.failed()), "activate succeeded on a failed device");
          check(!(was_failed && ok), "a failed device was activated");
          break;
        }
        case 3:
          device.reset();
          break;
      }
    }
    if (device.failed()) {
      std::vector<uint8_t> bytes(4);
      check(!device.read_config(0, bytes).ok(), "a failed device answered a config read");
      check(!device.activate(0, {}).ok(), "a failed device was activated");
    }
  }
  return 0;
}

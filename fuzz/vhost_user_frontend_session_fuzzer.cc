// A VhostUserFrontend against a scripted, hostile backend (the connection: see below). The
// input is a plan: its first bytes choose the device and what the transport asks of the
// frontend (config reads and writes, activate, reset); the rest drives the backend, which for
// every request that expects a reply answers correctly, with another request's code, without
// the reply flag, with arbitrary bytes, an attached fd, silence (the frontend's timeout) or a
// hang-up. Whatever happens the frontend must not crash or hang, and must end either working or
// failed, with a failed device refusing everything.
// The backend runs in the fuzzing thread, from the frontend's before-reply-wait hook, with a zero
// reply timeout: each input is deterministic and a silent backend costs no wall time (a backend
// thread and a real timeout made this target about 300 runs per second).
// The connection: for one input in eight (plan byte 0, bits 1-3 all set) a real socketpair, so
// the frontend's socket path (reply_channel.cc: FIONREAD, the header peek, partial messages,
// SCM_RIGHTS) stays fuzzed; for the others the frontend's in-memory transport hook
// (MessageTransport), a byte stream with the same framing and fds riding on a message's first
// bytes, so a session makes no system calls for its messages (about 100 a session over the
// socket, which held this target near 3,000 runs per second under ASan). Over the socket a
// session is the handshake and the plan's first operation only. Guest RAM and the queues'
// eventfds are made once per run.
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
#include <optional>
#include <span>
#include <string>
#include <utility>
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
constexpr size_t kMaxQueues = 8;  // the most any device profile exposes (device_profile.cc)

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
    case Request::GET_INFLIGHT_FD: {
      std::vector<uint8_t> payload = request.payload;  // the geometry asked for; the record's size
      if (payload.size() == 24) {
        const uint64_t record_bytes = script.u64(4096);
        std::memcpy(payload.data(), &record_bytes, 8);
      }
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
    case Request::GET_INFLIGHT_FD:
      return true;
    default:
      return (request.flags & kNeedReplyFlag) != 0;
  }
}

// The connection as the backend sees it.
class BackendLink {
 public:
  virtual ~BackendLink() = default;
  virtual bool connected() const = 0;
  // The next request the frontend sent, if one is queued.
  virtual std::optional<Message> next_request() = 0;
  // False: the send failed (the backend then hangs up).
  virtual bool send(Message reply) = 0;
  virtual void send_raw(const std::vector<uint8_t>& bytes) = 0;
  virtual void hang_up() = 0;
};

// A real socketpair end (non-blocking).
class SocketLink final : public BackendLink {
 public:
  explicit SocketLink(UniqueFd socket) : socket_(std::move(socket)) {}
  bool connected() const override { return socket_.valid(); }
  std::optional<Message> next_request() override {
    Result<Message> request = receive_message(socket_.get());
    if (!request.ok()) return std::nullopt;  // nothing queued (EAGAIN), or the frontend is gone
    return std::move(*request);
  }
  bool send(Message reply) override { return send_message(socket_.get(), reply).ok(); }
  void send_raw(const std::vector<uint8_t>& bytes) override {
    if (!bytes.empty()) (void)::send(socket_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
  }
  void hang_up() override { socket_.reset(); }

 private:
  UniqueFd socket_;
};

// Both ends in memory: the frontend's MessageTransport and the backend's link. Requests are
// handed over as messages (the backend reads only their header and payload); replies are a byte
// stream framed as on the socket (12-byte header, payload), with each reply's fds riding on its
// first byte, so raw bytes, truncated and oversized messages read as they would from a socket
// with a zero reply timeout.
class MemoryLink final : public BackendLink, public MessageTransport {
 public:
  // The frontend's side.
  Status send(const Message& message) override {
    if (hung_up_) return Error("send on the vhost-user socket: Broken pipe");
    if (message.payload.size() > kMaxPayload) return Error("vhost-user payload larger than 4096 bytes");
    if (message.fds.size() > kMaxFds) return Error("vhost-user message with more than 8 fds");
    Message copy;  // the fds stay with the frontend, which closes them
    copy.request = message.request;
    copy.flags = message.flags;
    copy.payload = message.payload;
    requests_.push_back(std::move(copy));
    return ok_status();
  }
  Result<Message> receive() override {
    const size_t queued = stream_.size() - at_;
    uint32_t size = 0;
    if (queued >= kHeaderSize) std::memcpy(&size, stream_.data() + at_ + 8, sizeof size);
    if (queued < kHeaderSize || (size <= kMaxPayload && queued < kHeaderSize + size)) {
      return Error("no complete reply within 0 ms");
    }
    Message message;
    std::memcpy(&message.request, stream_.data() + at_, 4);
    std::memcpy(&message.flags, stream_.data() + at_ + 4, 4);
    take_fds(at_ + kHeaderSize, &message.fds);  // those that came with the header's bytes
    at_ += kHeaderSize;
    if (size > kMaxPayload) {
      return Error(std::string(request_name(message.request)) + ": payload of " +
                   std::to_string(size) + " bytes, at most 4096");
    }
    message.payload.assign(stream_.begin() + static_cast<ptrdiff_t>(at_),
                           stream_.begin() + static_cast<ptrdiff_t>(at_ + size));
    at_ += size;
    take_fds(at_, nullptr);  // read without a control buffer: the kernel drops them
    return message;
  }

  // The backend's side.
  bool connected() const override { return !hung_up_; }
  std::optional<Message> next_request() override {
    if (next_ == requests_.size()) return std::nullopt;
    return std::move(requests_[next_++]);
  }
  bool send(Message reply) override {
    uint8_t header[kHeaderSize];
    const uint32_t size = static_cast<uint32_t>(reply.payload.size());
    std::memcpy(header, &reply.request, 4);
    std::memcpy(header + 4, &reply.flags, 4);
    std::memcpy(header + 8, &size, 4);
    if (!reply.fds.empty()) fds_.emplace_back(stream_.size(), std::move(reply.fds));
    stream_.insert(stream_.end(), header, header + kHeaderSize);
    stream_.insert(stream_.end(), reply.payload.begin(), reply.payload.end());
    return true;
  }
  void send_raw(const std::vector<uint8_t>& bytes) override {
    stream_.insert(stream_.end(), bytes.begin(), bytes.end());
  }
  void hang_up() override {
    hung_up_ = true;
    next_ = requests_.size();
  }

 private:
  // Moves the fds riding on bytes before `end` into `out` (nullptr: closes them).
  void take_fds(size_t end, std::vector<UniqueFd>* out) {
    for (; next_fds_ < fds_.size() && fds_[next_fds_].first < end; ++next_fds_) {
      if (out == nullptr) {
        fds_[next_fds_].second.clear();
      } else {
        for (UniqueFd& fd : fds_[next_fds_].second) out->push_back(std::move(fd));
      }
    }
  }

  bool hung_up_ = false;
  // Vectors with a read position (no deque: its first node costs more than a session's
  // messages under ASan).
  std::vector<Message> requests_;
  size_t next_ = 0;
  std::vector<uint8_t> stream_;
  size_t at_ = 0;
  std::vector<std::pair<size_t, std::vector<UniqueFd>>> fds_;
  size_t next_fds_ = 0;
};

// The backend: answers every request queued on its end of the connection, as the script says,
// until the script hangs up.
class Backend {
 public:
  Backend(BackendLink& link, Script script) : link_(link), script_(script) {}
  void pump() {
    while (link_.connected()) {
      std::optional<Message> request = link_.next_request();
      if (!request) return;
      if (!expects_reply(*request)) continue;
      if (!answer(*request)) link_.hang_up();
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
      case 6: link_.send_raw(script_.take(script_.byte(12))); return true;
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
    // GET_INFLIGHT_FD's reply carries the record's fd (a pipe stands in: the frontend only
    // keeps it), now and then none.
    if (mode % 10 != 9 && request.request == static_cast<uint32_t>(Request::GET_INFLIGHT_FD) &&
        script_.byte(0) < 240) {
      int fds[2];
      if (::pipe2(fds, O_CLOEXEC) == 0) {
        reply.fds.emplace_back(fds[0]);
        ::close(fds[1]);
      }
    }
    return link_.send(std::move(reply));
  }

  BackendLink& link_;
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

  // The queues' call and kick eventfds, for the whole run: the frontend only duplicates them.
  static std::vector<UniqueFd> queue_eventfds;
  if (queue_eventfds.empty()) {
    for (size_t i = 0; i < 2 * kMaxQueues; ++i) {
      queue_eventfds.emplace_back(::eventfd(0, EFD_CLOEXEC));
      if (!queue_eventfds.back().valid()) return 0;
    }
  }

  UniqueFd frontend_end;
  std::optional<SocketLink> socket_link;
  std::optional<MemoryLink> memory_link;
  const bool over_socket = (plan[0] & 0x0e) == 0x0e;
  if (over_socket) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return 0;
    frontend_end.reset(pair[0]);
    UniqueFd backend_end(pair[1]);
    if (::fcntl(backend_end.get(), F_SETFL, O_NONBLOCK) != 0) return 0;
    socket_link.emplace(std::move(backend_end));
  } else {
    memory_link.emplace();
  }
  BackendLink& link = socket_link ? static_cast<BackendLink&>(*socket_link) : *memory_link;
  Backend backend(link, Script(std::span<const uint8_t>(data + kPlanBytes, size - kPlanBytes)));

  const DeviceKind kind = (plan[0] & 1) != 0 ? DeviceKind::kRng : DeviceKind::kBlock;
  FrontendOptions options;
  options.name = "fuzz";
  options.reply_timeout = std::chrono::milliseconds(0);
  options.before_reply_wait = [&backend] { backend.pump(); };
  if (memory_link) options.transport = &*memory_link;
  auto frontend = VhostUserFrontend::connect(std::move(frontend_end), kind, shared, options);
  if (frontend.ok()) {
    VhostUserFrontend& device = **frontend;
    check((device.device_features() & ~profile_of(kind).supported_features) == 0,
          "offered a feature the monitor does not support");
    check(device.num_queues() >= 1 && device.num_queues() <= profile_of(kind).max_queues,
          "queue count out of range");
    // Over the socket, the handshake and one operation: what only the socket path reaches
    // (reply_channel.cc's waits, the codec's reads and fds) is all in there, and the rest of
    // the plan is the in-memory sessions' work at a fraction of the cost.
    const size_t steps = over_socket ? 2 : kPlanBytes;
    for (size_t step = 1; step < steps; ++step) {
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
          for (uint16_t i = 0; i < count && i < kMaxQueues; ++i) {
            const uint64_t at = i * kQueueStride;
            queues.push_back({i, static_cast<uint16_t>(16 << ((op >> 5) & 1)), at, at + 0x1000,
                              at + 0x2000, queue_eventfds[2 * i].get(),
                              queue_eventfds[2 * i + 1].get()});
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

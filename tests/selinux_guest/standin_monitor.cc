// A TEST-ONLY stand-in for bulwark-monitor, for the enforcing-SELinux guest
// (tests/selinux_guest). The guest has no /dev/kvm, so the real monitor cannot run; this binary
// is installed where the host config's `monitor` points, labelled bulwark_vm_exec_t, started by
// the real launcher in the real jail with the same argv and fds, and makes the accesses a real
// monitor makes, each one checked:
//   1. its own context (a socketpair's SO_PEERSEC, no /proc in the jail): bulwark_vm_t at a
//      category pair s0:cA,cB;
//   2. each launcher-made device socket (fd 3, 4, ...) labelled with that same context;
//   3. /vm.json (the config the launcher wrote), /vm/kernel and /vm/initrd: read and mapped;
//   4. /dev/kvm (labelled kvm_device_t) opened read-write: ENODEV/ENXIO (the guest has no KVM)
//      proves SELinux let the open through; EACCES is a denial;
//   5. guest RAM: the real monitor's sealed memfd (kvm::GuestMemory), labelled
//      bulwark_vm_tmpfs_t at the VM's pair;
//   6. vhost-user with each device over its socketpair: features, owner, SET_MEM_TABLE with the
//      memfd, one virtqueue, then one request: the disk's sector 0 read back (the test wrote
//      "BULWARK-SELINUX-DISK <vm id>" there; the VM id is the jail's hostname), 16 random bytes
//      from the rng.
// Then it prints one line, `STANDIN-READY ctx=<context> ...` (the console, the launcher's
// stdout), renames itself `standin-ready` (/proc/<pid>/comm: the test's signal that every check
// passed, which does not depend on the console), and waits (at most 300 s) for
// SIGTERM, which the launcher sends on a stop; it prints `STANDIN-END` and exits 0. A failed
// check prints `STANDIN-FAIL step=<name> ...` and exits with that step's code (10 + step), which
// the launcher passes on as its own exit code.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "devices/vhost_user/channel.h"
#include "devices/vhost_user/protocol.h"
#include "monitor/boot/guest_layout.h"
#include "monitor/config/json_config.h"
#include "monitor/kvm/guest_memory.h"

namespace {

using namespace bulwark;
namespace vu = vhost_user;

enum Step {
  kStepArgs = 1,
  kStepContext,
  kStepSocketLabel,
  kStepConfig,
  kStepKernel,
  kStepInitrd,
  kStepKvm,
  kStepMemory,
  kStepBlk,
  kStepRng,
  kStepSignal,
};

[[noreturn]] void fail(Step step, const std::string& name, const std::string& detail) {
  std::printf("STANDIN-FAIL step=%s detail=\"%s\"\n", name.c_str(), detail.c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "bulwark-monitor (selinux stand-in): %s: %s\n", name.c_str(), detail.c_str());
  std::exit(10 + step);
}

std::string errno_text(int e) { return std::string(strerrorname_np(e) ? strerrorname_np(e) : "?") + " " + std::strerror(e); }

// The peer context of a connected unix socket (for a socketpair: the label of its sockets).
std::optional<std::string> peer_context(int fd) {
  char buf[512];
  socklen_t len = sizeof buf;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERSEC, buf, &len) != 0) return std::nullopt;
  std::string s(buf, len);
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

std::string own_context() {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    fail(kStepContext, "context", "socketpair: " + errno_text(errno));
  auto ctx = peer_context(pair[0]);
  const int e = errno;
  ::close(pair[0]);
  ::close(pair[1]);
  if (!ctx) fail(kStepContext, "context", "SO_PEERSEC: " + errno_text(e));
  return *ctx;
}

// The security.selinux label of an fd (path == nullptr) or a path, "" if none.
std::string file_label(int fd, const char* path) {
  char buf[512];
  const ssize_t n = path ? ::lgetxattr(path, "security.selinux", buf, sizeof buf)
                         : ::fgetxattr(fd, "security.selinux", buf, sizeof buf);
  if (n <= 0) return "";
  std::string s(buf, static_cast<size_t>(n));
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

// "user:role:type:level" -> type and level (level may contain ':').
bool split_context(const std::string& ctx, std::string& type, std::string& level) {
  size_t a = ctx.find(':');
  if (a == std::string::npos) return false;
  size_t b = ctx.find(':', a + 1);
  if (b == std::string::npos) return false;
  size_t c = ctx.find(':', b + 1);
  if (c == std::string::npos) return false;
  type = ctx.substr(b + 1, c - b - 1);
  level = ctx.substr(c + 1);
  return true;
}

// s0:cA,cB with A < B, both below 1024.
bool is_category_pair(const std::string& level) {
  unsigned a = 0, b = 0;
  char tail = 0;
  if (std::sscanf(level.c_str(), "s0:c%u,c%u%c", &a, &b, &tail) != 2) return false;
  return a < b && b < 1024 && level == "s0:c" + std::to_string(a) + ",c" + std::to_string(b);
}

// Reads the whole file and maps it read-only, as the monitor's loader does; returns its size.
uint64_t read_and_map(Step step, const std::string& name, const char* path) {
  UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) fail(step, name, std::string("open ") + path + ": " + errno_text(errno));
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) fail(step, name, std::string("fstat ") + path + ": " + errno_text(errno));
  std::vector<char> buf(64 * 1024);
  uint64_t total = 0;
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) fail(step, name, std::string("read ") + path + ": " + errno_text(errno));
    if (n == 0) break;
    total += static_cast<uint64_t>(n);
  }
  if (st.st_size > 0) {
    void* map = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd.get(), 0);
    if (map == MAP_FAILED) fail(step, name, std::string("mmap ") + path + ": " + errno_text(errno));
    ::munmap(map, static_cast<size_t>(st.st_size));
  }
  return total;
}

template <typename T>
void store(uint8_t* at, T value) {
  __atomic_store_n(reinterpret_cast<T*>(at), value, __ATOMIC_RELEASE);
}
template <typename T>
T load(const uint8_t* at) {
  return __atomic_load_n(reinterpret_cast<const T*>(at), __ATOMIC_ACQUIRE);
}

// The frontend half of vhost-user for one device, one queue, on the monitor's guest RAM: what
// monitor/vhost_user does, without a guest driving the rings (this code writes them).
class DeviceSession {
 public:
  static constexpr uint16_t kQueueSize = 16;

  DeviceSession(int socket, uint8_t* ram, uint64_t ram_bytes, int memfd, uint64_t ring_gpa)
      : socket_(socket), ram_(ram), ram_bytes_(ram_bytes), memfd_(memfd), ring_gpa_(ring_gpa) {}

  Status start(uint64_t device_features) {
    auto offered = get_u64(vu::Request::GET_FEATURES);
    if (!offered.ok()) return offered.error();
    const uint64_t ring_features = (1ull << 32) | (1ull << 29) | (1ull << 28) | (1ull << 30);
    auto protocol = get_u64(vu::Request::GET_PROTOCOL_FEATURES);
    if (!protocol.ok()) return protocol.error();
    const uint64_t wanted = (1ull << vu::kProtocolReplyAck) | (1ull << vu::kProtocolConfig) | (1ull << vu::kProtocolMq);
    BULWARK_TRY(call(vu::make_u64_request(vu::Request::SET_PROTOCOL_FEATURES, *protocol & wanted)));
    reply_ack_ = (*protocol & (1ull << vu::kProtocolReplyAck)) != 0;
    BULWARK_TRY(call(vu::make_request(vu::Request::SET_OWNER, {}, true)));
    BULWARK_TRY(call(vu::make_u64_request(vu::Request::SET_FEATURES, *offered & (ring_features | device_features), true)));
    std::vector<UniqueFd> fds;
    fds.emplace_back(::dup(memfd_));
    const vu::MemoryRegion region{0, ram_bytes_, reinterpret_cast<uint64_t>(ram_), 0};
    BULWARK_TRY(call(vu::make_memory_table_request(std::span(&region, 1), std::move(fds), true)));
    kick_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    call_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    err_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!kick_.valid() || !call_.valid() || !err_.valid()) return Error::from_errno("eventfd", errno);
    std::memset(ram_ + ring_gpa_, 0, 0x3000);
    BULWARK_TRY(call(vu::make_vring_state_request(vu::Request::SET_VRING_NUM, {0, kQueueSize}, true)));
    vu::VringAddress address;
    address.index = 0;
    address.desc_user_addr = host(desc_gpa());
    address.avail_user_addr = host(avail_gpa());
    address.used_user_addr = host(used_gpa());
    BULWARK_TRY(call(vu::make_vring_address_request(address, true)));
    BULWARK_TRY(call(vu::make_vring_state_request(vu::Request::SET_VRING_BASE, {0, 0}, true)));
    BULWARK_TRY(call(vu::make_vring_fd_request(vu::Request::SET_VRING_CALL, 0, UniqueFd(::dup(call_.get())), true)));
    BULWARK_TRY(call(vu::make_vring_fd_request(vu::Request::SET_VRING_ERR, 0, UniqueFd(::dup(err_.get())), true)));
    BULWARK_TRY(call(vu::make_vring_fd_request(vu::Request::SET_VRING_KICK, 0, UniqueFd(::dup(kick_.get())), true)));
    BULWARK_TRY(call(vu::make_vring_state_request(vu::Request::SET_VRING_ENABLE, {0, 1}, true)));
    return ok_status();
  }

  struct Buffer {
    uint64_t gpa;
    uint32_t length;
    bool writable;
  };
  // One chain offered, kicked and waited for; returns the used length.
  Result<uint32_t> submit(const std::vector<Buffer>& chain) {
    for (size_t i = 0; i < chain.size(); ++i) {
      uint8_t* d = ram_ + desc_gpa() + 16 * i;
      const uint16_t flags = static_cast<uint16_t>((i + 1 < chain.size() ? 1 : 0) | (chain[i].writable ? 2 : 0));
      const uint16_t next = static_cast<uint16_t>(i + 1);
      std::memcpy(d, &chain[i].gpa, 8);
      std::memcpy(d + 8, &chain[i].length, 4);
      std::memcpy(d + 12, &flags, 2);
      std::memcpy(d + 14, &next, 2);
    }
    uint8_t* avail = ram_ + avail_gpa();
    const uint16_t used_before = load<uint16_t>(ram_ + used_gpa() + 2);
    store<uint16_t>(avail + 4 + 2 * kQueueSize, used_before);  // used_event (EVENT_IDX)
    const uint16_t idx = load<uint16_t>(avail + 2);
    store<uint16_t>(avail + 4 + 2 * (idx % kQueueSize), 0);
    store<uint16_t>(avail + 2, static_cast<uint16_t>(idx + 1));
    const uint64_t one = 1;
    if (::write(kick_.get(), &one, sizeof one) != sizeof one) return Error::from_errno("kick", errno);
    pollfd p{call_.get(), POLLIN, 0};
    if (::poll(&p, 1, 10000) != 1) return Error("no call eventfd signal from the device within 10 s");
    uint64_t count = 0;
    if (::read(call_.get(), &count, sizeof count) != sizeof count) return Error::from_errno("call eventfd", errno);
    if (load<uint16_t>(ram_ + used_gpa() + 2) != static_cast<uint16_t>(used_before + 1))
      return Error("the used index did not advance by one");
    return load<uint32_t>(ram_ + used_gpa() + 4 + 8 * (used_before % kQueueSize) + 4);
  }

 private:
  uint64_t desc_gpa() const { return ring_gpa_; }
  uint64_t avail_gpa() const { return ring_gpa_ + 0x1000; }
  uint64_t used_gpa() const { return ring_gpa_ + 0x2000; }
  uint64_t host(uint64_t gpa) const { return reinterpret_cast<uint64_t>(ram_) + gpa; }

  static bool has_reply(vu::Request request) {
    return request == vu::Request::GET_FEATURES || request == vu::Request::GET_PROTOCOL_FEATURES;
  }
  Result<vu::Message> call(const vu::Message& request) {
    BULWARK_TRY(vu::send_message(socket_, request));
    const auto code = static_cast<vu::Request>(request.request);
    if (!has_reply(code) && !(request.needs_reply() && reply_ack_)) return vu::Message{};
    auto reply = vu::receive_message_within(socket_, std::chrono::seconds(10));
    if (!reply.ok()) return reply.error().wrap(std::string(vu::request_name(request.request)));
    BULWARK_TRY(vu::check_reply_to(code, *reply));
    if (!has_reply(code)) {
      auto status = vu::parse_u64(*reply);
      if (!status.ok()) return status.error();
      if (*status != 0) return Error(std::string(vu::request_name(request.request)) + " refused by the device");
    }
    return reply;
  }
  Result<uint64_t> get_u64(vu::Request request) {
    auto reply = call(vu::make_request(request));
    if (!reply.ok()) return reply.error();
    return vu::parse_u64(*reply);
  }

  int socket_;
  uint8_t* ram_;
  uint64_t ram_bytes_;
  int memfd_;
  uint64_t ring_gpa_;
  bool reply_ack_ = false;
  UniqueFd kick_, call_, err_;
};

std::string printable_prefix(const uint8_t* data, size_t n) {
  std::string s;
  for (size_t i = 0; i < n && data[i] >= 0x20 && data[i] < 0x7f && data[i] != '"'; ++i) s.push_back(static_cast<char>(data[i]));
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  // Block the stop signals first: the launcher's SIGTERM is taken with sigtimedwait below.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigprocmask(SIG_BLOCK, &stop, nullptr);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);

  std::string config_path;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--config") config_path = argv[i + 1];
  }
  if (config_path.empty()) fail(kStepArgs, "args", "no --config (not started by the launcher?)");

  // 1. Own context.
  const std::string ctx = own_context();
  std::string type, level;
  if (!split_context(ctx, type, level) || type != "bulwark_vm_t" || !is_category_pair(level))
    fail(kStepContext, "context", "running as " + ctx + ", expected bulwark_vm_t at a pair s0:cA,cB");

  // 3. The config the launcher wrote.
  std::string text;
  {
    UniqueFd fd(::open(config_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) fail(kStepConfig, "config", "open " + config_path + ": " + errno_text(errno));
    char buf[4096];
    for (ssize_t n; (n = ::read(fd.get(), buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  }
  auto vm = config::parse_vm_config_json(text);
  if (!vm.ok()) fail(kStepConfig, "config", vm.error().message());

  // 2. Every device socket carries this process's context.
  for (const config::DeviceConfig& device : vm->devices) {
    auto peer = peer_context(device.socket_fd);
    if (!peer) fail(kStepSocketLabel, "socket-label", "fd " + std::to_string(device.socket_fd) + ": SO_PEERSEC: " + errno_text(errno));
    if (*peer != ctx)
      fail(kStepSocketLabel, "socket-label", "fd " + std::to_string(device.socket_fd) + " (" + device.type + ") is labelled " + *peer + ", not " + ctx);
  }

  const uint64_t kernel_bytes = read_and_map(kStepKernel, "kernel", vm->kernel.c_str());
  uint64_t initrd_bytes = 0;
  if (!vm->initrd.empty()) initrd_bytes = read_and_map(kStepInitrd, "initrd", vm->initrd.c_str());

  // 4. /dev/kvm: no KVM in the guest, so the kernel's answer (ENODEV/ENXIO) shows SELinux
  // allowed the open.
  std::string kvm_result;
  {
    const std::string kvm_label = file_label(-1, "/dev/kvm");
    std::string kvm_type, kvm_level;
    if (!split_context(kvm_label, kvm_type, kvm_level) || kvm_type != "kvm_device_t")
      fail(kStepKvm, "kvm", "/dev/kvm in the jail is labelled '" + kvm_label + "', expected kvm_device_t");
    UniqueFd kvm(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
    if (kvm.valid()) {
      kvm_result = "opened";
    } else if (errno == ENODEV || errno == ENXIO) {
      kvm_result = strerrorname_np(errno);
    } else {
      fail(kStepKvm, "kvm", "open /dev/kvm: " + errno_text(errno) + " (expected ENODEV or ENXIO: no KVM driver)");
    }
  }

  // 5. Guest RAM, made exactly as the monitor makes it.
  auto memory = kvm::GuestMemory::create(boot::GuestLayout::for_ram_size(vm->memory_mib << 20));
  if (!memory.ok()) fail(kStepMemory, "memory", memory.error().message());
  // LABELS.md: the memfd is bulwark_vm_tmpfs_t at the VM's own pair (type_transition).
  const std::string memfd_label = file_label(memory->memfd(), nullptr);
  std::string memfd_type, memfd_level;
  if (!split_context(memfd_label, memfd_type, memfd_level) || memfd_type != "bulwark_vm_tmpfs_t" || memfd_level != level)
    fail(kStepMemory, "memory", "the guest-RAM memfd is labelled '" + memfd_label + "', expected bulwark_vm_tmpfs_t:" + level);
  const uint64_t low_bytes = memory->layout().low_ram_end();
  uint8_t* ram = memory->host_address_of_range(0);

  // 6. vhost-user with each device.
  utsname uts{};
  ::uname(&uts);
  const std::string vm_id = uts.nodename;
  std::string disk_text = "none", rng_result = "none";
  uint64_t ring = 0x10000;
  uint64_t data = 0x100000;
  for (const config::DeviceConfig& device : vm->devices) {
    DeviceSession session(device.socket_fd, ram, low_bytes, memory->memfd(), ring);
    ring += 0x10000;
    if (device.type == "vhost-user-blk") {
      if (Status s = session.start((1ull << 24) - 1); !s.ok()) fail(kStepBlk, "blk", s.error().message());
      const uint64_t header = data, buffer = data + 0x1000, status = data + 0x2000;
      data += 0x4000;
      const uint32_t in = 0, reserved = 0;
      const uint64_t sector = 0;
      std::memcpy(ram + header, &in, 4);
      std::memcpy(ram + header + 4, &reserved, 4);
      std::memcpy(ram + header + 8, &sector, 8);
      std::memset(ram + buffer, 0xee, 512);
      ram[status] = 0xff;
      auto used = session.submit({{header, 16, false}, {buffer, 512, true}, {status, 1, true}});
      if (!used.ok()) fail(kStepBlk, "blk", "read of sector 0: " + used.error().message());
      if (ram[status] != 0) fail(kStepBlk, "blk", "read of sector 0: status " + std::to_string(ram[status]));
      disk_text = printable_prefix(ram + buffer, 512);
      if (disk_text != "BULWARK-SELINUX-DISK " + vm_id)
        fail(kStepBlk, "blk", "sector 0 holds \"" + disk_text + "\", expected \"BULWARK-SELINUX-DISK " + vm_id + "\"");
    } else if (device.type == "vhost-user-rng") {
      if (Status s = session.start(0); !s.ok()) fail(kStepRng, "rng", s.error().message());
      const uint64_t buffer = data;
      data += 0x1000;
      std::memset(ram + buffer, 0, 16);
      auto used = session.submit({{buffer, 16, true}});
      if (!used.ok()) fail(kStepRng, "rng", used.error().message());
      if (*used == 0) fail(kStepRng, "rng", "no random bytes");
      rng_result = std::to_string(*used) + "bytes";
    }
  }

  std::printf("STANDIN-READY vm=%s ctx=%s kernel_bytes=%llu initrd_bytes=%llu kvm=%s ram_mib=%llu disk=\"%s\" rng=%s\n",
              vm_id.c_str(), ctx.c_str(), static_cast<unsigned long long>(kernel_bytes),
              static_cast<unsigned long long>(initrd_bytes), kvm_result.c_str(),
              static_cast<unsigned long long>(vm->memory_mib), disk_text.c_str(), rng_result.c_str());

  // The same verdict where the test can see it even if the console is lost: the process name.
  ::prctl(PR_SET_NAME, "standin-ready", 0, 0, 0);

  // Stay up (devices connected, RAM shared) until the launcher stops the VM.
  timespec limit{300, 0};
  const int sig = ::sigtimedwait(&stop, nullptr, &limit);
  if (sig < 0) fail(kStepSignal, "wait", "no SIGTERM from the launcher within 300 s");
  std::printf("STANDIN-END vm=%s signal=%d\n", vm_id.c_str(), sig);
  return 0;
}

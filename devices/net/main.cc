// bulwark-dev-net: the virtio-net device process. It receives its TAP queues as open fds (one
// per queue pair, opened by the launcher with IFF_VNET_HDR) and never opens a device, a file or
// a socket itself; it serves one vhost-user frontend and runs under
// policy/seccomp/dev-net.policy from the moment it is connected.
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/common/log.h"
#include "devices/backend/device_process.h"
#include "devices/net/net_device.h"

// Leak checking at exit needs ptrace, which the seccomp policy forbids (sanitizer builds).
extern "C" const char* __lsan_default_options() { return "detect_leaks=0"; }  // NOLINT

namespace {

using namespace bulwark;

int usage(const std::string& why) {
  std::fprintf(stderr,
               "bulwark-dev-net: %s\nusage: bulwark-dev-net %s --tap-fd N [--tap-fd N ...] --mac MAC\n"
               "       [--mtu BYTES] [--queue-pairs N] [--allowed-ip PREFIX ...] [--allow-vlan] [--allow-mac-change]\n"
               "       [--tx-bytes-per-sec N] [--rx-bytes-per-sec N] [--tx-packets-per-sec N] [--rx-packets-per-sec N]\n"
               "       [--tx-bytes SIZE:REFILL_MS[:BURST]] [--rx-bytes ...] [--tx-packets ...] [--rx-packets ...]\n"
               "       (one --tap-fd per queue pair; --queue-pairs defaults to their number)\n",
               why.c_str(), backend::kCommonUsage);
  return backend::kDeviceExitUsage;
}

template <typename T>
bool parse_number(std::string_view text, T& value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

int device_main(int argc, char** argv) {
  const std::span<char* const> args(argv, static_cast<size_t>(argc));
  backend::DeviceProcessOptions options;
  net::NetDeviceOptions device_options;
  std::vector<int> tap_fds;
  bool have_mac = false;
  int queue_pairs = 0;
  for (size_t i = 1; i < args.size();) {
    auto used = backend::parse_common_option(options, args, i);
    if (!used.ok()) return usage(used.error().message());
    if (*used > 0) {
      i += *used;
      continue;
    }
    const std::string flag = args[i];
    if (flag == "--allow-vlan" || flag == "--allow-mac-change") {
      (flag == "--allow-vlan" ? device_options.allow_vlan : device_options.allow_mac_change) = true;
      ++i;
      continue;
    }
    auto value = backend::option_value(args, i);
    if (!value.ok()) return usage(value.error().message());
    i += 2;
    if (flag == "--tap-fd") {
      int fd = -1;
      if (!parse_number(*value, fd) || fd < 0) return usage("--tap-fd: not a file descriptor number");
      tap_fds.push_back(fd);
    } else if (flag == "--mac") {
      auto mac = net::parse_mac(*value);
      if (!mac.ok()) return usage("--mac: " + mac.error().message());
      device_options.mac = *mac;
      have_mac = true;
    } else if (flag == "--mtu") {
      if (!parse_number(*value, device_options.mtu)) return usage("--mtu: a number from 68 to 65535");
    } else if (flag == "--queue-pairs") {
      if (!parse_number(*value, queue_pairs) || queue_pairs < 1 || queue_pairs > net::NetDevice::kMaxQueuePairs) {
        return usage("--queue-pairs: a number from 1 to " + std::to_string(net::NetDevice::kMaxQueuePairs));
      }
    } else if (flag == "--allowed-ip") {
      auto prefix = net::parse_ip_prefix(*value);
      if (!prefix.ok()) return usage("--allowed-ip: " + prefix.error().message());
      device_options.allowed_ips.push_back(*prefix);
    } else if (flag == "--tx-bytes-per-sec" || flag == "--rx-bytes-per-sec" || flag == "--tx-packets-per-sec" ||
               flag == "--rx-packets-per-sec") {
      uint64_t rate = 0;
      if (!parse_number(*value, rate) || rate == 0) return usage(flag + ": a positive number");
      net::RateLimitSpec& limit = flag[2] == 't' ? device_options.tx_limit : device_options.rx_limit;
      net::BucketSpec& bucket = flag.find("bytes") != std::string::npos ? limit.bytes : limit.packets;
      bucket = net::BucketSpec{rate, 0, 1000};
    } else if (flag == "--tx-bytes" || flag == "--rx-bytes" || flag == "--tx-packets" || flag == "--rx-packets") {
      net::RateLimitSpec& limit = flag[2] == 't' ? device_options.tx_limit : device_options.rx_limit;
      net::BucketSpec& bucket = flag.find("bytes") != std::string::npos ? limit.bytes : limit.packets;
      auto parsed = ratelimit::parse_bucket_spec(*value);
      if (!parsed) return usage(flag + ": SIZE:REFILL_MS[:BURST], SIZE and REFILL_MS positive");
      bucket = *parsed;
    } else {
      return usage("unknown option " + flag);
    }
  }
  if (Status checked = backend::check_common_options(options); !checked.ok()) return usage(checked.error().message());
  if (!have_mac) return usage("--mac is needed");
  if (tap_fds.empty()) return usage("at least one --tap-fd is needed");
  device_options.queue_pairs = static_cast<uint16_t>(queue_pairs == 0 ? tap_fds.size() : queue_pairs);

  std::vector<UniqueFd> taps;
  for (int fd : tap_fds) taps.emplace_back(fd);
  auto device = net::NetDevice::create(std::move(device_options), std::move(taps));
  if (!device.ok()) return backend::exit_for_startup_error(device.error());
  auto control = backend::control_channel(options);
  if (!control.ok()) return backend::exit_for_startup_error(control.error());
  auto socket = backend::connect_frontend(options);
  if (!socket.ok()) return backend::exit_for_startup_error(socket.error());
  if (Status sandboxed = backend::install_device_seccomp(options, "dev-net.policy"); !sandboxed.ok()) {
    return backend::exit_for_startup_error(sandboxed.error());
  }
  const int status = backend::serve_frontend(std::move(*socket), **device, {}, std::move(*control));
  log::info((*device)->summary());
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  bulwark::log::set_program_name("bulwark-dev-net");
  return bulwark::backend::run_device_main(device_main, argc, argv);
}

// bulwark-bench-vhost-user-net: what bench/vhost_user_net.sh needs besides dpdk-testpmd (the
// frontend for both backends) and the backends themselves. See bench/README.md.
//
//   tap-exec --tap NAME --fd N -- PROGRAM [ARGS...]
//       Opens one queue of TAP NAME in this process's network namespace (IFF_TAP | IFF_NO_PI |
//       IFF_VNET_HDR | IFF_MULTI_QUEUE, as the launcher does for bulwark-dev-net), puts it at fd
//       N and execs PROGRAM (run it under `ip netns exec`).
//   blast --ifname NAME --src-mac MAC --dst-mac MAC --frame-bytes N --seconds S [--burst B]
//         [--pause-us U] [--rate PPS]
//       Sends IPv4/UDP frames of N bytes on NAME, B per sendmmsg (64), at PPS frames per second
//       (0: as fast as the kernel takes them), sleeping at least U microseconds after each burst
//       (0); prints "blast: sent N refused M seconds T".
//   tso --socket PATH --src-mac MAC --dst-mac MAC --seconds S [--frame-bytes N] [--in-flight K]
//       A guest-less virtio-net driver sending 64 KiB TSO frames to the vhost-user-net backend
//       listening on PATH; prints "tso: frames N bytes B seconds T".
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "bench/vhost_user_net/frame_blaster.h"
#include "bench/vhost_user_net/tso_sender.h"
#include "bulwark/common/unique_fd.h"

namespace bulwark::bench {
namespace {

constexpr const char* kUsage =
    "usage: bulwark-bench-vhost-user-net tap-exec --tap NAME --fd N -- PROGRAM [ARGS...]\n"
    "       bulwark-bench-vhost-user-net blast --ifname NAME --src-mac MAC --dst-mac MAC --frame-bytes N --seconds S\n"
    "                                      [--burst B] [--pause-us U] [--rate PPS]\n"
    "       bulwark-bench-vhost-user-net tso --socket PATH --src-mac MAC --dst-mac MAC --seconds S\n"
    "                                    [--frame-bytes N] [--in-flight K]\n";

int fail(const std::string& why) {
  std::fprintf(stderr, "bulwark-bench-vhost-user-net: %s\n%s", why.c_str(), kUsage);
  return 2;
}

template <typename T>
bool parse_number(const std::string& text, T& value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

// "--flag value" pairs up to the end or a "--" argument (its index in `end`).
Result<std::map<std::string, std::string>> parse_flags(std::span<char* const> args, size_t& end) {
  std::map<std::string, std::string> flags;
  size_t i = 0;
  for (; i < args.size() && std::string(args[i]) != "--"; i += 2) {
    const std::string flag = args[i];
    if (flag.rfind("--", 0) != 0 || i + 1 >= args.size()) return Error("bad option " + flag);
    flags[flag] = args[i + 1];
  }
  end = i;
  return flags;
}

int tap_exec(std::span<char* const> args) {
  size_t end = 0;
  auto flags = parse_flags(args, end);
  if (!flags.ok()) return fail(flags.error().message());
  int target = -1;
  if (!flags->count("--tap") || !flags->count("--fd") || !parse_number((*flags)["--fd"], target) || target < 3) {
    return fail("tap-exec needs --tap NAME and --fd N (N >= 3)");
  }
  if (end + 1 >= args.size()) return fail("tap-exec needs -- PROGRAM");
  const std::string name = (*flags)["--tap"];
  UniqueFd tap(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
  if (!tap.valid()) return fail(std::string("open /dev/net/tun: ") + std::strerror(errno));
  ifreq request{};
  std::strncpy(request.ifr_name, name.c_str(), IFNAMSIZ - 1);
  request.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
  if (::ioctl(tap.get(), static_cast<unsigned long>(TUNSETIFF), &request) != 0) {
    return fail("TUNSETIFF " + name + ": " + std::strerror(errno));
  }
  if (::dup2(tap.get(), target) < 0) return fail(std::string("dup2: ") + std::strerror(errno));  // no CLOEXEC
  std::vector<char*> argv(args.begin() + static_cast<std::ptrdiff_t>(end + 1), args.end());
  argv.push_back(nullptr);
  ::execvp(argv[0], argv.data());
  return fail(std::string("exec ") + argv[0] + ": " + std::strerror(errno));
}

int blast_command(std::span<char* const> args) {
  size_t end = 0;
  auto flags = parse_flags(args, end);
  if (!flags.ok() || end != args.size()) return fail("blast: bad options");
  BlastOptions options;
  options.ifname = (*flags)["--ifname"];
  double seconds = 0;
  auto src = parse_mac((*flags)["--src-mac"]);
  auto dst = parse_mac((*flags)["--dst-mac"]);
  if (options.ifname.empty() || !src.ok() || !dst.ok() || !parse_number((*flags)["--frame-bytes"], options.frame_bytes) ||
      !parse_number((*flags)["--seconds"], seconds) || seconds <= 0) {
    return fail("blast needs --ifname, --src-mac, --dst-mac, --frame-bytes and --seconds");
  }
  uint32_t pause_us = 0;
  if (flags->count("--burst") && !parse_number((*flags)["--burst"], options.burst)) return fail("--burst: a number");
  if (flags->count("--pause-us") && !parse_number((*flags)["--pause-us"], pause_us)) return fail("--pause-us: a number");
  if (flags->count("--rate") && !parse_number((*flags)["--rate"], options.rate)) return fail("--rate: a number");
  options.pause = std::chrono::microseconds(pause_us);
  options.src_mac = *src;
  options.dst_mac = *dst;
  options.duration = std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  auto result = blast(options);
  if (!result.ok()) {
    std::fprintf(stderr, "blast: %s\n", result.error().message().c_str());
    return 1;
  }
  std::printf("blast: sent %llu refused %llu seconds %.3f\n", static_cast<unsigned long long>(result->sent),
              static_cast<unsigned long long>(result->refused), result->seconds);
  return 0;
}

int tso_command(std::span<char* const> args) {
  size_t end = 0;
  auto flags = parse_flags(args, end);
  if (!flags.ok() || end != args.size()) return fail("tso: bad options");
  TsoOptions options;
  options.socket_path = (*flags)["--socket"];
  double seconds = 0;
  auto src = parse_mac((*flags)["--src-mac"]);
  auto dst = parse_mac((*flags)["--dst-mac"]);
  if (options.socket_path.empty() || !src.ok() || !dst.ok() || !parse_number((*flags)["--seconds"], seconds) ||
      seconds <= 0) {
    return fail("tso needs --socket, --src-mac, --dst-mac and --seconds");
  }
  if (flags->count("--frame-bytes") && !parse_number((*flags)["--frame-bytes"], options.frame_bytes)) {
    return fail("--frame-bytes: a number");
  }
  if (flags->count("--in-flight") && !parse_number((*flags)["--in-flight"], options.in_flight)) {
    return fail("--in-flight: a number");
  }
  options.src_mac = *src;
  options.dst_mac = *dst;
  options.duration = std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  auto result = send_tso_frames(options);
  if (!result.ok()) {
    std::fprintf(stderr, "tso: %s\n", result.error().message().c_str());
    return 1;
  }
  std::printf("tso: frames %llu bytes %llu seconds %.3f\n", static_cast<unsigned long long>(result->frames),
              static_cast<unsigned long long>(result->frames * options.frame_bytes), result->seconds);
  return 0;
}

}  // namespace
}  // namespace bulwark::bench

int main(int argc, char** argv) {
  const std::span<char* const> args(argv, static_cast<size_t>(argc));
  if (args.size() < 2) return bulwark::bench::fail("a command is needed");
  const std::string command = args[1];
  const auto rest = args.subspan(2);
  if (command == "tap-exec") return bulwark::bench::tap_exec(rest);
  if (command == "blast") return bulwark::bench::blast_command(rest);
  if (command == "tso") return bulwark::bench::tso_command(rest);
  return bulwark::bench::fail("unknown command " + command);
}

// bulwark-dev-blk: the virtio-blk device process. It receives its image as an open fd (never a
// path: --image PATH exists for tests and interop only), raw or qcow2 as the VM config declares
// (never guessed from the content), a qcow2 image's backing chain as more fds with the paths the
// config gave them (qcow2_disk.h); serves one vhost-user frontend and runs under
// policy/seccomp/dev-blk.policy from the moment it is connected.
#include <fcntl.h>

#include <cerrno>
#include <chrono>
#include <charconv>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "bulwark/common/log.h"
#include "devices/backend/device_process.h"
#include "devices/blk/block_device.h"
#include "devices/blk/qcow2_disk.h"
#include "devices/blk/raw_disk.h"

// Leak checking at exit needs ptrace, which the seccomp policy forbids (sanitizer builds).
extern "C" const char* __lsan_default_options() { return "detect_leaks=0"; }  // NOLINT

namespace {

// --poll-us: the longest the event loop busy-polls the rings before it blocks (README.md,
// "Polling"). The default is QEMU's iothread default (poll-max-ns 32768) rounded; the window
// adapts below it, so an idle disk polls nothing.
constexpr int kDefaultPollUs = 32;
constexpr int kMaxPollUs = 1000;

int usage(const std::string& why) {
  std::fprintf(stderr,
               "bulwark-dev-blk: %s\nusage: bulwark-dev-blk %s --image-fd M [--read-only] [--queues Q] "
               "[--serial ID] [--poll-us N]\n       [--rate-bytes SIZE:REFILL_MS[:BURST]] [--rate-ops SIZE:REFILL_MS[:BURST]]\n       [--format raw|qcow2] [--image-name PATH] [--max-virtual-size BYTES]\n"
               "       [--backing-fd N --backing-format raw|qcow2 --backing-name PATH]... (nearest first)\n"
               "       (--image PATH instead of --image-fd: for tests and interop)\n",
               why.c_str(), bulwark::backend::kCommonUsage);
  return 2;
}

bool parse_number(const std::string& text, int& value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() && value >= 0;
}

int device_main(int argc, char** argv) {
  using namespace bulwark;
  const std::span<char* const> args(argv, static_cast<size_t>(argc));
  backend::DeviceProcessOptions options;
  blk::BlockDeviceOptions device_options;
  int image_fd = -1;
  std::string image_path;
  blk::DiskFormat format = blk::DiskFormat::kRaw;
  std::string image_name;
  uint64_t max_virtual_size = 0;
  int poll_us = kDefaultPollUs;
  struct Backing {
    int fd = -1;
    bool has_format = false;
    blk::DiskFormat format = blk::DiskFormat::kRaw;
    std::string name;
  };
  std::vector<Backing> backing;
  auto parse_format = [](const std::string& text, blk::DiskFormat& out) {
    if (text == "raw") out = blk::DiskFormat::kRaw;
    else if (text == "qcow2") out = blk::DiskFormat::kQcow2;
    else return false;
    return true;
  };
  for (size_t i = 1; i < args.size();) {
    auto used = backend::parse_common_option(options, args, i);
    if (!used.ok()) return usage(used.error().message());
    if (*used > 0) {
      i += *used;
      continue;
    }
    const std::string flag = args[i];
    if (flag == "--read-only") {
      device_options.read_only = true;
      ++i;
      continue;
    }
    if (flag != "--image-fd" && flag != "--image" && flag != "--queues" && flag != "--serial" &&
        flag != "--rate-bytes" && flag != "--rate-ops" && flag != "--poll-us" &&
        flag != "--format" && flag != "--image-name" && flag != "--max-virtual-size" && flag != "--backing-fd" &&
        flag != "--backing-format" && flag != "--backing-name") {
      return usage("unknown option " + flag);
    }
    auto value = backend::option_value(args, i);
    if (!value.ok()) return usage(value.error().message());
    int number = 0;
    if (flag == "--rate-bytes" || flag == "--rate-ops") {
      auto bucket = ratelimit::parse_bucket_spec(*value);
      if (!bucket) return usage(flag + ": SIZE:REFILL_MS[:BURST], SIZE and REFILL_MS positive");
      (flag == "--rate-bytes" ? device_options.rate_bytes : device_options.rate_ops) = *bucket;
      i += 2;
      continue;
    }
    if (flag == "--poll-us") {
      if (!parse_number(*value, number) || number > kMaxPollUs) {
        return usage("--poll-us: microseconds from 0 (no polling) to " + std::to_string(kMaxPollUs));
      }
      poll_us = number;
    } else if (flag == "--format") {
      if (!parse_format(*value, format)) return usage("--format: raw or qcow2");
    } else if (flag == "--image-name") {
      image_name = *value;
    } else if (flag == "--max-virtual-size") {
      auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), max_virtual_size);
      if (ec != std::errc() || end != value->data() + value->size()) return usage("--max-virtual-size: a number of bytes");
    } else if (flag == "--backing-fd") {
      if (backing.size() >= blk::kMaxBackingDepth) return usage("--backing-fd: at most 16 backing images");
      backing.push_back({});
      if (!parse_number(*value, backing.back().fd)) return usage("--backing-fd: not a file descriptor number");
    } else if (flag == "--backing-format" || flag == "--backing-name") {
      if (backing.empty()) return usage(flag + ": after its --backing-fd");
      if (flag == "--backing-name") {
        backing.back().name = *value;
      } else {
        if (!parse_format(*value, backing.back().format)) return usage("--backing-format: raw or qcow2");
        backing.back().has_format = true;
      }
    } else if (flag == "--image-fd") {
      if (!parse_number(*value, image_fd)) return usage("--image-fd: not a file descriptor number");
    } else if (flag == "--image") {
      image_path = *value;
    } else if (flag == "--queues") {
      if (!parse_number(*value, number) || number < 1 || number > blk::BlockDevice::kMaxQueues) {
        return usage("--queues: a number from 1 to 16");
      }
      device_options.queues = static_cast<uint16_t>(number);
    } else {
      device_options.serial = *value;
    }
    i += 2;
  }
  if (Status checked = backend::check_common_options(options); !checked.ok()) return usage(checked.error().message());
  if ((image_fd >= 0) == !image_path.empty()) return usage("exactly one of --image-fd and --image is needed");

  UniqueFd image(image_fd);
  if (!image_path.empty()) {
    image.reset(::open(image_path.c_str(), (device_options.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC));
    if (!image.valid()) return backend::exit_for_startup_error(Error::from_errno("cannot open the image " + image_path, errno));
  }
  if (format == blk::DiskFormat::kRaw && !backing.empty()) return usage("a raw image has no backing chain");
  std::unique_ptr<blk::DiskBackend> disk;
  if (format == blk::DiskFormat::kRaw) {
    auto raw = blk::RawDisk::open(std::move(image), !device_options.read_only);
    if (!raw.ok()) return backend::exit_for_startup_error(raw.error());
    disk = std::move(*raw);
  } else {
    blk::ChainMember top{std::move(image), blk::DiskFormat::kQcow2, image_name.empty() ? image_path : image_name};
    std::vector<blk::ChainMember> chain;
    for (Backing& member : backing) {
      if (!member.has_format || member.name.empty() || member.name.front() != '/') {
        return usage("each --backing-fd needs its --backing-format and an absolute --backing-name");
      }
      chain.push_back({UniqueFd(member.fd), member.format, member.name});
    }
    if (top.path.empty() || top.path.front() != '/') return usage("--format qcow2 needs an absolute --image-name");
    blk::Qcow2DiskOptions qcow2_options;
    qcow2_options.read_only = device_options.read_only;
    qcow2_options.max_virtual_size = max_virtual_size;
    auto opened = blk::open_qcow2_disk(std::move(top), std::move(chain), qcow2_options);
    if (!opened.ok()) return backend::exit_for_startup_error(opened.error());
    disk = std::move(*opened);
  }
  auto device = blk::BlockDevice::create(std::move(disk), device_options);
  if (!device.ok()) return backend::exit_for_startup_error(device.error());
  auto control = backend::control_channel(options);
  if (!control.ok()) return backend::exit_for_startup_error(control.error());
  auto socket = backend::connect_frontend(options);
  if (!socket.ok()) return backend::exit_for_startup_error(socket.error());
  if (Status sandboxed = backend::install_device_seccomp(options, "dev-blk.policy"); !sandboxed.ok()) {
    return backend::exit_for_startup_error(sandboxed.error());
  }
  return backend::serve_frontend(std::move(*socket), **device, std::chrono::microseconds(poll_us),
                                 std::move(*control));
}

}  // namespace

int main(int argc, char** argv) {
  bulwark::log::set_program_name("bulwark-dev-blk");
  return bulwark::backend::run_device_main(device_main, argc, argv);
}

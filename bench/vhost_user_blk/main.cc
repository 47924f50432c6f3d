// bulwark-bench-vhost-user-blk: a vhost-user frontend with no guest. It shares a memfd as guest
// RAM with a virtio-blk backend (bulwark-dev-blk, qemu-storage-daemon, ...), checks one write and
// read-back, records the device process's idle memory, then runs timed workloads and prints
// IOPS and MB/s. See bench/README.md.
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/vhost_user_blk/blk_client.h"
#include "bench/vhost_user_blk/frontend_setup.h"
#include "bench/vhost_user_blk/shared_memory.h"
#include "bench/vhost_user_blk/workload.h"
#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"

namespace bulwark::bench {
namespace {

struct Options {
  std::string socket_path;
  std::string image_path;  // optional: the same image, to check the device's writes really land
  uint64_t image_bytes = 0;
  uint64_t memory_bytes = 64ull << 20;
  double seconds = 5;
  int device_pid = -1;
  uint64_t max_requests = 0;  // 0: the workloads run for `seconds` only
  std::vector<Workload> workloads = standard_workloads();
};

constexpr const char* kUsage =
    "usage: bulwark-bench-vhost-user-blk --socket PATH (--image PATH | --image-mib N) [--seconds S]\n"
    "       [--memory-mib N] [--device-pid PID] [--max-requests N] [--workloads NAME,NAME...]\n"
    "workloads: randread-4k-qd1 randread-4k-qd32 randwrite-4k-qd1 randwrite-4k-qd32 seqread-128k-qd1 "
    "seqread-128k-qd32\n";

template <typename T>
bool parse_number(const std::string& text, T& value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

Result<Options> parse_options(std::span<char* const> args) {
  Options options;
  for (size_t i = 1; i < args.size(); i += 2) {
    const std::string flag = args[i];
    if (i + 1 >= args.size()) return Error(flag + " needs a value");
    const std::string value = args[i + 1];
    uint64_t number = 0;
    if (flag == "--socket") {
      options.socket_path = value;
    } else if (flag == "--image") {
      options.image_path = value;
    } else if (flag == "--image-mib" && parse_number(value, number) && number > 0) {
      options.image_bytes = number << 20;
    } else if (flag == "--memory-mib" && parse_number(value, number) && number > 0 && number <= 4096) {
      options.memory_bytes = number << 20;
    } else if (flag == "--seconds" && parse_number(value, options.seconds) && options.seconds > 0) {
    } else if (flag == "--device-pid" && parse_number(value, options.device_pid) && options.device_pid > 0) {
    } else if (flag == "--max-requests" && parse_number(value, options.max_requests) && options.max_requests > 0) {
    } else if (flag == "--workloads") {
      options.workloads.clear();
      std::stringstream names(value);
      for (std::string name; std::getline(names, name, ',');) {
        auto workload = find_workload(name);
        if (!workload) return Error("unknown workload " + name);
        options.workloads.push_back(*workload);
      }
    } else {
      return Error("bad option " + flag + " " + value);
    }
  }
  if (options.socket_path.empty()) return Error("--socket is required");
  if (options.memory_bytes < BlkClient::kMemoryNeeded) return Error("--memory-mib too small");
  if (!options.image_path.empty() && options.image_bytes == 0) {
    struct stat image {};
    if (::stat(options.image_path.c_str(), &image) != 0) return Error::from_errno(options.image_path, errno);
    options.image_bytes = static_cast<uint64_t>(image.st_size);
  }
  if (options.image_bytes < (1u << 20)) return Error("need --image or --image-mib (at least 1 MiB)");
  return options;
}

// "Pss:" and "Rss:" of /proc/PID/smaps_rollup, in kB.
Result<std::pair<uint64_t, uint64_t>> process_memory_kb(int pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/smaps_rollup";
  std::ifstream rollup(path);
  if (!rollup) return Error("cannot read " + path);
  uint64_t pss = 0;
  uint64_t rss = 0;
  for (std::string line; std::getline(rollup, line);) {
    std::istringstream fields(line);
    std::string key;
    uint64_t kb = 0;
    fields >> key >> kb;
    if (key == "Pss:") pss = kb;
    if (key == "Rss:") rss = kb;
  }
  return std::pair{pss, rss};
}

Status expect_equal(std::span<const uint8_t> got, std::span<const uint8_t> want, const std::string& what) {
  if (std::equal(got.begin(), got.end(), want.begin(), want.end())) return ok_status();
  const auto at = std::mismatch(got.begin(), got.end(), want.begin()).first - got.begin();
  return Error(what + ": data differs at byte " + std::to_string(at));
}

// One 4 KiB block written through the device and read back; with --image, also checked against
// the file itself in both directions, so a device that loses writes or invents reads is caught.
Status check_correctness(BlkClient& client, const Options& options) {
  constexpr uint32_t kBlock = 4096;
  const uint64_t sector = (options.image_bytes / 2 / kBlock) * (kBlock / 512);
  std::vector<uint8_t> pattern(kBlock);
  for (size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<uint8_t>((i * 31 + 7) ^ (i >> 8));
  auto data = client.buffer(0);
  std::copy(pattern.begin(), pattern.end(), data.begin());
  client.submit(0, {true, sector, kBlock});
  BULWARK_TRY(client.kick());
  BULWARK_TRY(client.wait_completion());
  std::fill(data.begin(), data.end(), uint8_t{0});
  client.submit(0, {false, sector, kBlock});
  BULWARK_TRY(client.kick());
  BULWARK_TRY(client.wait_completion());
  BULWARK_TRY(expect_equal(data.first(kBlock), pattern, "read-back through the device"));
  if (options.image_path.empty()) return ok_status();

  UniqueFd image(::open(options.image_path.c_str(), O_RDWR | O_CLOEXEC));
  if (!image.valid()) return Error::from_errno(options.image_path, errno);
  std::vector<uint8_t> on_disk(kBlock);
  const auto offset = static_cast<off_t>(sector * 512);
  if (::pread(image.get(), on_disk.data(), kBlock, offset) != kBlock) return Error::from_errno("pread image", errno);
  BULWARK_TRY(expect_equal(on_disk, pattern, "image file after a device write"));
  for (uint8_t& byte : pattern) byte = static_cast<uint8_t>(~byte);
  if (::pwrite(image.get(), pattern.data(), kBlock, offset) != kBlock) return Error::from_errno("pwrite image", errno);
  client.submit(0, {false, sector, kBlock});
  BULWARK_TRY(client.kick());
  BULWARK_TRY(client.wait_completion());
  return expect_equal(data.first(kBlock), pattern, "device read after a file write");
}

int run(const Options& options) {
  auto memory = SharedMemory::create(options.memory_bytes);
  if (!memory.ok()) return std::fprintf(stderr, "error: %s\n", memory.error().message().c_str()), 1;
  UniqueFd kick(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  UniqueFd call(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!kick.valid() || !call.valid()) return std::perror("eventfd"), 1;
  BlkClient client(*memory, kick.get(), call.get());

  auto socket = connect_backend(options.socket_path, std::chrono::seconds(10));
  if (!socket.ok()) return std::fprintf(stderr, "error: %s\n", socket.error().message().c_str()), 1;
  auto features = set_up_backend(socket->get(), *memory, client.queue(), kick.get(), call.get());
  if (!features.ok()) {
    return std::fprintf(stderr, "error: handshake: %s\n", features.error().message().c_str()), 1;
  }
  std::printf("handshake: features offered 0x%llx accepted 0x%llx reply_ack %s\n",
              static_cast<unsigned long long>(features->offered), static_cast<unsigned long long>(features->accepted),
              features->reply_ack ? "yes" : "no");

  if (options.device_pid > 0) {
    // Idle: set up and connected, not yet asked for any I/O.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto idle = process_memory_kb(options.device_pid);
    if (!idle.ok()) return std::fprintf(stderr, "error: %s\n", idle.error().message().c_str()), 1;
    std::printf("idle: pss_kb=%llu rss_kb=%llu\n", static_cast<unsigned long long>(idle->first),
                static_cast<unsigned long long>(idle->second));
  }
  if (Status checked = check_correctness(client, options); !checked.ok()) {
    return std::fprintf(stderr, "error: correctness check: %s\n", checked.error().message().c_str()), 1;
  }
  std::printf("correctness: ok (4 KiB write and read-back%s)\n",
              options.image_path.empty() ? "" : ", cross-checked against the image file");
  std::fflush(stdout);

  const auto duration = std::chrono::milliseconds(static_cast<int64_t>(options.seconds * 1000));
  for (const Workload& workload : options.workloads) {
    auto result = run_workload(client, workload, options.image_bytes, duration, options.max_requests);
    if (!result.ok()) return std::fprintf(stderr, "error: %s\n", result.error().message().c_str()), 1;
    const double mbps = result->iops() * workload.block_bytes / 1e6;
    std::printf("workload %s: iops=%.0f mbps=%.1f requests=%llu seconds=%.2f\n", workload.name.c_str(),
                result->iops(), mbps, static_cast<unsigned long long>(result->requests), result->seconds);
    std::fflush(stdout);
  }
  if (options.device_pid > 0) {
    auto busy = process_memory_kb(options.device_pid);
    if (busy.ok()) {
      std::printf("after: pss_kb=%llu rss_kb=%llu\n", static_cast<unsigned long long>(busy->first),
                  static_cast<unsigned long long>(busy->second));
    }
  }
  return 0;
}

}  // namespace
}  // namespace bulwark::bench

int main(int argc, char** argv) {
  auto options = bulwark::bench::parse_options(std::span<char* const>(argv, static_cast<size_t>(argc)));
  if (!options.ok()) {
    std::fprintf(stderr, "bulwark-bench-vhost-user-blk: %s\n%s", options.error().message().c_str(),
                 bulwark::bench::kUsage);
    return 2;
  }
  return bulwark::bench::run(*options);
}

// bulwark-bench-api-latency: client-observed latency of a VM's API (bulwark-api, or Firecracker's
// for comparison) over one kept-alive connection, for bench/api.sh. The operator runs it on
// their own socket; the answers are the API process's bytes, framed by the same bounded reader
// `bulwark vm` uses (jailer/vm_cli/api_response.h), and any non-2xx answer ends the run, so no
// number is ever for a refused request.
//
//   bulwark-bench-api-latency --socket PATH [--count N] [--warmup N] [--timeout-ms MS]
//                             [--start-time] REQUEST...
//   REQUEST: "METHOD PATH" or "METHOD PATH BODY" (one argument; BODY is sent as JSON)
//
// Each round sends the REQUESTs in order, one at a time, each timed from just before its first
// byte is written to when its whole answer has been read. Prints one line per REQUEST:
//   req<i> METHOD PATH n=N median_us=X p99_us=X min_us=X max_us=X mean_us=X
// and with --start-time, first, `start_realtime_us=T`: CLOCK_REALTIME when the first measured
// request was sent (to line up with timestamps taken elsewhere, such as the guest's first line).
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "jailer/vm_cli/api_response.h"

namespace bulwark::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Request {
  std::string label;  // "METHOD PATH"
  std::string bytes;  // as sent: request line, headers (keep-alive), body
};

struct Options {
  std::string socket_path;
  uint64_t count = 1000;
  uint64_t warmup = 0;
  uint64_t timeout_ms = 5000;
  bool start_time = false;
  std::vector<Request> requests;
};

Result<uint64_t> parse_number(std::string_view flag, std::string_view text, uint64_t min, uint64_t max) {
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return Error(std::string(flag) + ": expected an integer from " + std::to_string(min) + " to " +
                 std::to_string(max) + ", got \"" + std::string(text) + "\"");
  }
  return value;
}

Result<Request> parse_request(std::string_view spec) {
  const size_t method_end = spec.find(' ');
  if (method_end == std::string_view::npos || method_end == 0) {
    return Error("request \"" + std::string(spec) + "\": expected \"METHOD PATH [BODY]\"");
  }
  const size_t path_end = spec.find(' ', method_end + 1);
  const std::string_view method = spec.substr(0, method_end);
  const std::string_view path = spec.substr(method_end + 1, path_end == std::string_view::npos
                                                                 ? std::string_view::npos
                                                                 : path_end - method_end - 1);
  const std::string_view body = path_end == std::string_view::npos ? std::string_view() : spec.substr(path_end + 1);
  if (path.empty() || path[0] != '/') return Error("request \"" + std::string(spec) + "\": the path must start with /");
  Request request{std::string(method) + " " + std::string(path), ""};
  request.bytes = request.label + " HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n";
  if (!body.empty()) request.bytes += "Content-Type: application/json\r\n";
  request.bytes += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  request.bytes += body;
  return request;
}

Result<Options> parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--socket" && has_value) {
      options.socket_path = argv[++i];
    } else if (arg == "--count" && has_value) {
      auto n = parse_number(arg, argv[++i], 1, 10'000'000);
      if (!n.ok()) return n.error();
      options.count = *n;
    } else if (arg == "--warmup" && has_value) {
      auto n = parse_number(arg, argv[++i], 0, 10'000'000);
      if (!n.ok()) return n.error();
      options.warmup = *n;
    } else if (arg == "--timeout-ms" && has_value) {
      auto n = parse_number(arg, argv[++i], 1, 600'000);
      if (!n.ok()) return n.error();
      options.timeout_ms = *n;
    } else if (arg == "--start-time") {
      options.start_time = true;
    } else if (arg.starts_with("--")) {
      return Error("unknown option or missing value: " + std::string(arg));
    } else {
      auto request = parse_request(arg);
      if (!request.ok()) return request.error();
      options.requests.push_back(std::move(*request));
    }
  }
  if (options.socket_path.empty() || options.requests.empty()) {
    return Error("usage: bulwark-bench-api-latency --socket PATH [--count N] [--warmup N] [--timeout-ms MS] "
                 "[--start-time] \"METHOD PATH [BODY]\"...");
  }
  if (options.socket_path.size() >= sizeof(sockaddr_un{}.sun_path)) return Error("--socket: the path is too long");
  return options;
}

// A blocking connection whose every send and receive gives up after `timeout_ms`, so a stuck
// API costs the benchmark a bounded wait.
Result<UniqueFd> connect_to(const std::string& path, uint64_t timeout_ms) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Error::from_errno("socket", errno);
  timeval limit{static_cast<time_t>(timeout_ms / 1000), static_cast<suseconds_t>(timeout_ms % 1000 * 1000)};
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) != 0 ||
      ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit) != 0) {
    return Error::from_errno("setsockopt", errno);
  }
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.data(), path.size());
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    return Error::from_errno("connect to " + path, errno);
  }
  return fd;
}

// Sends one request and reads its whole answer; a non-2xx status is an error.
Status exchange(int fd, const Request& request, std::span<uint8_t> buffer) {
  size_t sent = 0;
  while (sent < request.bytes.size()) {
    const ssize_t n = ::send(fd, request.bytes.data() + sent, request.bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error::from_errno("sending " + request.label, n < 0 ? errno : EIO);
    sent += static_cast<size_t>(n);
  }
  vm_cli::ApiResponseReader reader;
  while (reader.state() == vm_cli::ApiResponseReader::State::kNeedMore) {
    const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
    if (n > 0) {
      reader.feed(buffer.first(static_cast<size_t>(n)));
    } else if (n == 0) {
      reader.finish();
    } else if (errno != EINTR) {
      return Error::from_errno("reading the answer to " + request.label, errno);
    }
  }
  if (reader.state() == vm_cli::ApiResponseReader::State::kError) {
    return Error("invalid answer to " + request.label + ": " + reader.error());
  }
  const vm_cli::ApiResponse& answer = reader.response();
  if (answer.status < 200 || answer.status > 299) {
    return Error(request.label + " answered " + std::to_string(answer.status) + ": " + answer.body.substr(0, 200));
  }
  return ok_status();
}

double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

void print_summary(size_t index, const Request& request, std::vector<double>& samples) {
  std::sort(samples.begin(), samples.end());
  const size_t n = samples.size();
  // Nearest rank: the smallest sample with at least p of them at or below it.
  auto rank = [&](double p) { return samples[std::min(n - 1, static_cast<size_t>(p * static_cast<double>(n) + 0.999999) - 1)]; };
  double sum = 0;
  for (double s : samples) sum += s;
  std::printf("req%zu %s n=%zu median_us=%.1f p99_us=%.1f min_us=%.1f max_us=%.1f mean_us=%.1f\n", index,
              request.label.c_str(), n, rank(0.5), rank(0.99), samples.front(), samples.back(),
              sum / static_cast<double>(n));
}

int run(const Options& options) {
  auto fd = connect_to(options.socket_path, options.timeout_ms);
  if (!fd.ok()) {
    std::fprintf(stderr, "bulwark-bench-api-latency: %s\n", fd.error().message().c_str());
    return 1;
  }
  std::vector<uint8_t> buffer(64 * 1024);
  std::vector<std::vector<double>> samples(options.requests.size());
  for (auto& s : samples) s.reserve(options.count);
  for (uint64_t round = 0; round < options.warmup + options.count; ++round) {
    const bool measured = round >= options.warmup;
    if (measured && round == options.warmup && options.start_time) {
      timespec now{};
      ::clock_gettime(CLOCK_REALTIME, &now);
      std::printf("start_realtime_us=%lld\n", static_cast<long long>(now.tv_sec) * 1'000'000 + now.tv_nsec / 1000);
    }
    for (size_t i = 0; i < options.requests.size(); ++i) {
      const Clock::time_point start = Clock::now();
      if (Status s = exchange(fd->get(), options.requests[i], buffer); !s.ok()) {
        std::fprintf(stderr, "bulwark-bench-api-latency: round %llu: %s\n", static_cast<unsigned long long>(round),
                     s.error().message().c_str());
        return 1;
      }
      if (measured) samples[i].push_back(micros(Clock::now() - start));
    }
  }
  for (size_t i = 0; i < options.requests.size(); ++i) print_summary(i + 1, options.requests[i], samples[i]);
  return 0;
}

}  // namespace
}  // namespace bulwark::bench

int main(int argc, char** argv) {
  auto options = bulwark::bench::parse_options(argc, argv);
  if (!options.ok()) {
    std::fprintf(stderr, "bulwark-bench-api-latency: %s\n", options.error().message().c_str());
    return 2;
  }
  return bulwark::bench::run(*options);
}

#include "tests/unit/api_server/api_test_support.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

namespace bulwark::test {

namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

}  // namespace

const char* api_binary() { return BULWARK_API_BINARY; }

TempDir::TempDir() {
  std::string pattern = "/tmp/bulwark-api-test.XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

UniqueFd listen_at(const std::string& path, int backlog) {
  UniqueFd socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  if (::bind(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(socket.get(), backlog) != 0) {
    ADD_FAILURE() << "listening at " << path << ": " << std::strerror(errno);
    return UniqueFd();
  }
  return socket;
}

TestClient TestClient::connect_to(const std::string& path) {
  UniqueFd socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  if (::connect(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    ADD_FAILURE() << "connect " << path << ": " << std::strerror(errno);
    return TestClient(UniqueFd());
  }
  return TestClient(std::move(socket));
}

bool TestClient::send(const std::string& bytes, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(socket_.get(), bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd p{socket_.get(), POLLOUT, 0};
      if (::poll(&p, 1, remaining_ms(deadline)) <= 0) return false;
      continue;
    }
    return false;
  }
  return true;
}

int TestClient::read_more(Millis timeout) {
  pollfd p{socket_.get(), POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return -1;
  char chunk[65536];
  const ssize_t n = ::recv(socket_.get(), chunk, sizeof chunk, 0);
  if (n <= 0) return 0;  // EOF, or a reset after the server closed with our bytes unread
  buffer_.append(chunk, static_cast<size_t>(n));
  return static_cast<int>(n);
}

std::optional<ParsedResponse> TestClient::read_response(Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const size_t head_end = buffer_.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      ParsedResponse response;
      const std::string head = buffer_.substr(0, head_end);
      size_t line_end = head.find("\r\n");
      const std::string status_line = head.substr(0, line_end);
      // "HTTP/1.1 200 OK"
      if (status_line.rfind("HTTP/1.1 ", 0) != 0 || status_line.size() < 12) {
        ADD_FAILURE() << "not a status line: " << status_line;
        return std::nullopt;
      }
      response.status = std::atoi(status_line.substr(9, 3).c_str());
      response.reason = status_line.size() > 13 ? status_line.substr(13) : "";
      while (line_end != std::string::npos) {
        const size_t start = line_end + 2;
        line_end = head.find("\r\n", start);
        const std::string line = head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
        const size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        response.headers[lower(line.substr(0, colon))] = value;
      }
      const size_t length = response.has("content-length") ? std::stoul(response.headers["content-length"]) : 0;
      if (buffer_.size() >= head_end + 4 + length) {
        response.body = buffer_.substr(head_end + 4, length);
        buffer_.erase(0, head_end + 4 + length);
        return response;
      }
    }
    const int got = read_more(Millis(remaining_ms(deadline)));
    if (got <= 0) return std::nullopt;
  }
}

bool TestClient::closed_within(Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const int got = read_more(Millis(remaining_ms(deadline)));
    if (got == 0) return true;
    if (got < 0) return false;
  }
}

bool TestClient::quiet_for(Millis quiet) {
  pollfd p{socket_.get(), POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(quiet.count())) == 0;
}

std::string http_request(const std::string& method, const std::string& path, const std::string& body,
                         const std::string& extra_headers) {
  std::string text = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\n" + extra_headers;
  if (!body.empty()) {
    text += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  return text + "\r\n" + body;
}

std::optional<api::Command> TestLauncher::next_command(Millis timeout) {
  pollfd p{channel_.get(), POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
  std::vector<uint8_t> datagram(api::kMaxMessageBytes + 1);
  const ssize_t n = ::recv(channel_.get(), datagram.data(), datagram.size(), 0);
  if (n <= 0) return std::nullopt;
  auto command = api::decode_command(std::span<const uint8_t>(datagram.data(), static_cast<size_t>(n)));
  if (!command.ok()) {
    ADD_FAILURE() << "bulwark-api sent a command the launcher refuses: " << command.error().message();
    return std::nullopt;
  }
  return *command;
}

bool TestLauncher::silent_for(Millis quiet) {
  pollfd p{channel_.get(), POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(quiet.count())) == 0;
}

void TestLauncher::reply(const api::Reply& reply) { send_raw(api::encode_reply(reply)); }

void TestLauncher::send_raw(const std::vector<uint8_t>& datagram) {
  const ssize_t n = ::send(channel_.get(), datagram.data(), datagram.size(), MSG_NOSIGNAL);
  EXPECT_EQ(n, static_cast<ssize_t>(datagram.size())) << std::strerror(errno);
}

std::pair<UniqueFd, UniqueFd> command_channel() {
  int fds[2] = {-1, -1};
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
    ADD_FAILURE() << "socketpair: " << std::strerror(errno);
  }
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

Result<ApiProcess> ApiProcess::start(const std::vector<std::string>& args, int listener, int channel) {
  std::vector<std::string> argv_text{api_binary()};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_text) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return Error::from_errno("fork", errno);
  if (pid == 0) {
    // Only async-signal-safe calls here. Copies above 10 first, so that dup2 onto 3 and 4 cannot
    // clobber an fd still needed; dup2's copies are not close-on-exec.
    const int listener_copy = ::fcntl(listener, F_DUPFD, 10);
    const int channel_copy = ::fcntl(channel, F_DUPFD, 10);
    if (listener_copy < 0 || channel_copy < 0 || ::dup2(listener_copy, 3) != 3 || ::dup2(channel_copy, 4) != 4) {
      ::_exit(120);
    }
    ::close_range(5, ~0U, 0);
    ::execv(argv[0], argv.data());
    ::_exit(121);
  }
  return ApiProcess(pid);
}

ApiProcess::~ApiProcess() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

bool ApiProcess::running() {
  if (pid_ <= 0 || status_) return false;
  int status = 0;
  const pid_t done = ::waitpid(pid_, &status, WNOHANG);
  if (done == pid_) status_ = status;
  return done == 0;
}

std::optional<int> ApiProcess::wait_exit(Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  while (running() && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
  return status_;
}

}  // namespace bulwark::test

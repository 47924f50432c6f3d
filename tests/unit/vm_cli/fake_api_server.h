// A stand-in for bulwark-api in `bulwark vm` tests: a thread serving one connection on a real
// unix socket in a fresh temporary directory. It reads one request (headers, then a
// Content-Length body), keeps it for the test to check, and answers with canned bytes, nothing,
// or a flood, as the test chooses.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

#include "bulwark/common/unique_fd.h"

namespace bulwark::vm_cli::testing {

struct ReceivedRequest {
  std::string raw;  // request line and headers, up to and including the blank line
  std::string method, path, body;
  long content_length = -1;  // -1: no Content-Length header
};

class FakeApiServer {
 public:
  enum class Mode {
    kAnswer,  // write `answer`, then close
    kSilent,  // read the request, answer nothing, keep the connection until the client leaves
  };

  explicit FakeApiServer(std::string answer, Mode mode = Mode::kAnswer)
      : answer_(std::move(answer)), mode_(mode) {
    char dir_template[] = "/tmp/bulwark-vmcli-XXXXXX";
    if (::mkdtemp(dir_template) == nullptr) std::abort();
    dir_ = dir_template;
    path_ = dir_ + "/api.sock";
    listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path_.c_str(), sizeof address.sun_path - 1);
    if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener_.get(), 4) != 0) {
      std::abort();
    }
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) std::abort();
    stop_read_.reset(pipe_fds[0]);
    stop_write_.reset(pipe_fds[1]);
    thread_ = std::thread([this] { serve(); });
  }

  ~FakeApiServer() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  const std::string& socket_path() const { return path_; }

  // Ends the connection (if still open) and waits for the thread; then received() is final.
  void stop() {
    if (!thread_.joinable()) return;
    [[maybe_unused]] ssize_t n = ::write(stop_write_.get(), "x", 1);
    thread_.join();
  }

  const ReceivedRequest& received() {
    stop();
    return received_;
  }

 private:
  // Waits for `fd` to be readable; false when the test asked to stop.
  bool wait_readable(int fd) {
    pollfd entries[2] = {{fd, POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
    while (true) {
      if (::poll(entries, 2, -1) < 0) continue;
      if (entries[1].revents != 0) return false;
      if (entries[0].revents != 0) return true;
    }
  }

  void serve() {
    if (!wait_readable(listener_.get())) return;
    UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!client.valid()) return;
    if (!read_request(client.get())) return;
    if (mode_ == Mode::kSilent) {
      char byte;
      while (wait_readable(client.get()) && ::read(client.get(), &byte, 1) > 0) {
      }
      return;
    }
    size_t sent = 0;
    while (sent < answer_.size()) {
      const ssize_t n = ::send(client.get(), answer_.data() + sent, answer_.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;  // the client gave up (a flood it refused): done
      sent += static_cast<size_t>(n);
    }
  }

  bool read_request(int fd) {
    std::string data;
    char buffer[4096];
    size_t header_end = std::string::npos;
    while (true) {
      if (header_end == std::string::npos) {
        header_end = data.find("\r\n\r\n");
        if (header_end != std::string::npos) {
          header_end += 4;
          parse_head(data.substr(0, header_end));
        }
      }
      if (header_end != std::string::npos &&
          data.size() - header_end >= static_cast<size_t>(std::max(0L, received_.content_length))) {
        received_.body = data.substr(header_end);
        return true;
      }
      if (!wait_readable(fd)) return false;
      const ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n <= 0) return false;
      data.append(buffer, static_cast<size_t>(n));
    }
  }

  void parse_head(const std::string& head) {
    received_.raw = head;
    const size_t first_space = head.find(' ');
    const size_t second_space = head.find(' ', first_space + 1);
    received_.method = head.substr(0, first_space);
    received_.path = head.substr(first_space + 1, second_space - first_space - 1);
    const std::string key = "\r\nContent-Length: ";
    const size_t at = head.find(key);
    if (at != std::string::npos) received_.content_length = std::stol(head.substr(at + key.size()));
  }

  std::string answer_;
  Mode mode_;
  std::string dir_, path_;
  UniqueFd listener_, stop_read_, stop_write_;
  ReceivedRequest received_;
  std::thread thread_;
};

// An HTTP/1.1 answer with Content-Length (and Content-Type when there is a body).
inline std::string http_answer(int status, const std::string& reason, const std::string& body,
                               const std::string& content_type = "application/json") {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
  if (!body.empty()) out += "Content-Type: " + content_type + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return out;
}

}  // namespace bulwark::vm_cli::testing

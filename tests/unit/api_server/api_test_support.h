// What the bulwark-api tests play: API clients on a real unix socket, and the launcher on the
// SOCK_SEQPACKET command channel (decoding each command as the launcher does). Plus starting the
// real bulwark-api binary as the launcher would: the listening socket as fd 3, the channel as fd 4.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/command/command.h"
#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"

namespace bulwark::test {

using namespace std::chrono_literals;
using Millis = std::chrono::milliseconds;

// A private directory under /tmp, removed with what is in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A listening AF_UNIX SOCK_STREAM socket bound at `path`, as the launcher makes it.
UniqueFd listen_at(const std::string& path, int backlog = 64);

struct ParsedResponse {
  int status = 0;
  std::string reason;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  bool has(const std::string& name) const { return headers.count(name) != 0; }
};

// One API client connection.
class TestClient {
 public:
  static TestClient connect_to(const std::string& path);
  bool connected() const { return socket_.valid(); }
  int fd() const { return socket_.get(); }
  // All of `bytes`, or false (the server closed, or no room for `timeout`).
  bool send(const std::string& bytes, Millis timeout = 5000ms);
  // The next response; nullopt when the connection ends first or after `timeout`.
  std::optional<ParsedResponse> read_response(Millis timeout = 5000ms);
  // True when the server closes the connection (EOF or reset) within `timeout`, after any
  // response bytes not read yet.
  bool closed_within(Millis timeout);
  // True when nothing arrives for `quiet` (the server is still waiting for something).
  bool quiet_for(Millis quiet);

 private:
  explicit TestClient(UniqueFd socket) : socket_(std::move(socket)) {}
  // Reads more into buffer_: >0 bytes read, 0 EOF/reset, -1 timeout.
  int read_more(Millis timeout);

  UniqueFd socket_;
  std::string buffer_;
};

// "PUT /boot-source HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n
// Content-Length: N\r\n\r\n<body>" (no body headers when `body` is empty).
std::string http_request(const std::string& method, const std::string& path, const std::string& body = "",
                         const std::string& extra_headers = "");

// The test's end of the command channel.
class TestLauncher {
 public:
  explicit TestLauncher(UniqueFd channel) : channel_(std::move(channel)) {}
  // The next command, decoded with decode_command (a datagram that does not decode fails the
  // test); nullopt after `timeout`.
  std::optional<api::Command> next_command(Millis timeout = 5000ms);
  // True when no command arrives for `quiet`.
  bool silent_for(Millis quiet);
  void reply(const api::Reply& reply);
  void send_raw(const std::vector<uint8_t>& datagram);
  void close() { channel_.reset(); }

 private:
  UniqueFd channel_;
};

// socketpair(AF_UNIX, SOCK_SEQPACKET): [0] for the test (launcher), [1] for bulwark-api.
std::pair<UniqueFd, UniqueFd> command_channel();

// The real bulwark-api binary, started as the launcher starts it.
class ApiProcess {
 public:
  // fd 3 = `listener`, fd 4 = `channel`; stderr shared with the test.
  static Result<ApiProcess> start(const std::vector<std::string>& args, int listener, int channel);
  ApiProcess(ApiProcess&& other) noexcept
      : pid_(std::exchange(other.pid_, -1)), status_(std::exchange(other.status_, std::nullopt)) {}
  ApiProcess& operator=(ApiProcess&&) = delete;
  ~ApiProcess();  // kills and reaps a process still running
  // The wait status once the process ended, or nullopt after `timeout`.
  std::optional<int> wait_exit(Millis timeout);
  bool running();

 private:
  explicit ApiProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
  std::optional<int> status_;  // the wait status, once reaped
};

// The path of the bulwark-api binary under test.
const char* api_binary();

}  // namespace bulwark::test

// The log lines bulwark-api writes about requests it (or the launcher) refused. API clients
// choose how many requests they send and what bytes are in them, so the lines are rate-limited
// (a flood of bad requests costs one count line a second, not a full disk) and every piece of
// client text in them is escaped and cut short (config::quoted_text).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/routes/router.h"

namespace bulwark::api {

class RefusalLog {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RefusalLog(size_t lines_per_second = 10) : lines_per_second_(lines_per_second) {}

  // Logs one refusal, unless this second already had lines_per_second of them (then it is
  // only counted). `what` must already be safe to log (see describe_refusal).
  void refused(Clock::time_point now, std::string_view what);
  // Writes the count of lines left out once their second is over.
  void tick(Clock::time_point now);
  // When tick() has a count to write, for the event loop's poll timeout.
  std::optional<Clock::time_point> next_deadline() const;

 private:
  void start_window(Clock::time_point now);

  size_t lines_per_second_;
  Clock::time_point window_start_{};
  size_t logged_in_window_ = 0;
  uint64_t left_out_ = 0;
};

// "\"PUT\" \"/boot-source\"": a request's method and path, quoted and cut short.
std::string request_label(std::string_view method, std::string_view path);

// "client 3: 400 <label>: \"<fault message>\"": `label` (already safe: request_label, a command
// name, or empty) and the fault message of a {"fault_message": ...} body, quoted and cut short.
std::string describe_refusal(uint64_t client_id, std::string_view label, const HttpResponse& response);

}  // namespace bulwark::api

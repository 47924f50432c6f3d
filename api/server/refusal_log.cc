#include "api/server/refusal_log.h"

#include <nlohmann/json.hpp>

#include "bulwark/common/log.h"
#include "monitor/config/message_text.h"

namespace bulwark::api {

namespace {

constexpr auto kWindow = std::chrono::seconds(1);

// The fault message of a {"fault_message": "..."} body, else the body itself (both get quoted).
std::string fault_message_of(const HttpResponse& response) {
  const auto json = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (json.is_object()) {
    const auto it = json.find("fault_message");
    if (it != json.end() && it->is_string()) return it->get<std::string>();
  }
  return response.body;
}

}  // namespace

void RefusalLog::start_window(Clock::time_point now) {
  if (left_out_ > 0) {
    log::warn(std::to_string(left_out_) + " more refused requests not logged (at most " +
              std::to_string(lines_per_second_) + " lines a second)");
  }
  window_start_ = now;
  logged_in_window_ = 0;
  left_out_ = 0;
}

void RefusalLog::refused(Clock::time_point now, std::string_view what) {
  if (logged_in_window_ == 0 || now - window_start_ >= kWindow) start_window(now);
  if (logged_in_window_ < lines_per_second_) {
    ++logged_in_window_;
    log::warn(std::string("refused ") + std::string(what));
  } else {
    ++left_out_;
  }
}

void RefusalLog::tick(Clock::time_point now) {
  if (left_out_ > 0 && now - window_start_ >= kWindow) start_window(now);
}

std::optional<RefusalLog::Clock::time_point> RefusalLog::next_deadline() const {
  if (left_out_ == 0) return std::nullopt;
  return window_start_ + kWindow;
}

std::string request_label(std::string_view method, std::string_view path) {
  return config::quoted_text(method, 16) + " " + config::quoted_text(path);
}

std::string describe_refusal(uint64_t client_id, std::string_view label, const HttpResponse& response) {
  std::string text = "client " + std::to_string(client_id) + ": " + std::to_string(response.status);
  if (!label.empty()) text += " " + std::string(label);
  text += ": " + config::quoted_text(fault_message_of(response));
  return text;
}

}  // namespace bulwark::api

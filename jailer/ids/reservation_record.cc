#include "jailer/ids/reservation_record.h"

#include <cstdint>

namespace bulwark::jailer {
namespace {

// Linux's PID_MAX_LIMIT: no pid is larger on any configuration.
constexpr uint32_t kMaxPid = 4194304;

bool is_vm_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

// Takes "<key>=<value>\n" from the front of text.
Result<std::string_view> take_field(std::string_view& text, std::string_view key) {
  if (text.substr(0, key.size()) != key || text.size() <= key.size() || text[key.size()] != '=')
    return Error("expected '" + std::string(key) + "=' line");
  text.remove_prefix(key.size() + 1);
  const size_t newline = text.find('\n');
  if (newline == std::string_view::npos)
    return Error("'" + std::string(key) + "' line is not newline-terminated");
  std::string_view value = text.substr(0, newline);
  text.remove_prefix(newline + 1);
  return value;
}

Result<pid_t> parse_pid(std::string_view digits) {
  if (digits.empty()) return Error("pid is empty");
  if (digits.size() > 7) return Error("pid is too long");
  if (digits[0] == '0') return Error("pid has a leading zero or is zero");
  uint32_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return Error("pid is not a decimal number");
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value > kMaxPid) return Error("pid " + std::to_string(value) + " exceeds the kernel's limit");
  return static_cast<pid_t>(value);
}

}  // namespace

Status validate_vm_id(std::string_view vm_id) {
  if (vm_id.empty()) return Error("VM id is empty");
  if (vm_id.size() > kMaxVmIdLength)
    return Error("VM id is longer than " + std::to_string(kMaxVmIdLength) + " characters");
  if (vm_id[0] == '.' || vm_id[0] == '-') return Error("VM id starts with '.' or '-'");
  for (char c : vm_id)
    if (!is_vm_id_char(c)) return Error("VM id has a character outside [A-Za-z0-9._-]");
  return ok_status();
}

std::string format_reservation_record(const ReservationRecord& record) {
  return "pid=" + std::to_string(record.pid) + "\nvm=" + record.vm_id + "\n";
}

Result<ReservationRecord> parse_reservation_record(std::string_view text) {
  if (text.size() > kMaxReservationRecordBytes)
    return Error("reservation record is longer than " +
                 std::to_string(kMaxReservationRecordBytes) + " bytes");
  auto pid_text = take_field(text, "pid");
  if (!pid_text) return pid_text.error().wrap("reservation record");
  auto pid = parse_pid(*pid_text);
  if (!pid) return pid.error().wrap("reservation record");
  auto vm_text = take_field(text, "vm");
  if (!vm_text) return vm_text.error().wrap("reservation record");
  if (auto valid = validate_vm_id(*vm_text); !valid) return valid.error().wrap("reservation record");
  if (!text.empty()) return Error("reservation record: trailing bytes after the 'vm' line");
  return ReservationRecord{*pid, std::string(*vm_text)};
}

}  // namespace bulwark::jailer

// Firecracker's request bodies to commands (the API client's JSON). See bodies.h; the limits
// are command.h's, checked with the same text rules the codec uses (api/command/wire_text.h),
// so a body accepted here always encodes to a command decode_command accepts.
#include "api/routes/bodies.h"

#include <array>
#include <cctype>
#include <cstdint>
#include <string>

#include "api/command/command_schema.h"
#include "api/command/wire_text.h"
#include "api/routes/json_body.h"

namespace bulwark::api::body {

namespace {

using nlohmann::json;
using wire::TextCharset;
using wire::TextRule;

constexpr auto kRequired = Presence::kRequired;
constexpr auto kOptional = Presence::kOptional;

// The codec's own rules and ranges (command_schema.h), so the two cannot drift apart.
constexpr TextRule kHostPathRule = wire::kRequiredPathRule;
constexpr TextRule kOptionalHostPathRule = wire::kOptionalPathRule;
constexpr TextRule kBootArgsRule = wire::kBootArgsRule;
constexpr TextRule kShortTextRule = wire::kShortTextRule;
constexpr size_t kMaxHostDevNameBytes = 15;  // IFNAMSIZ - 1
constexpr TextRule kHostDevNameRule{0, kMaxHostDevNameBytes, TextCharset::kPlain};

bool ascii_equal_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

// Firecracker's TokenBucket: size and refill_time (ms) required, one_time_burst optional. The
// wire's bounds here (token counts exact in a JSON double, refills of at most an hour); the
// launcher then holds them to the operator's ceilings.
Status read_bucket(FieldReader& parent, std::string_view name, std::optional<TokenBucket>& out) {
  auto object = parent.object(name, kOptional);
  if (!object.ok()) return object.error();
  if (*object == nullptr) return ok_status();
  FieldReader fields(**object, parent.child_prefix(name));
  TokenBucket bucket;
  BULWARK_TRY(fields.integer("size", kRequired, 0, wire::kMaxBucketTokens, bucket.size));
  BULWARK_TRY(fields.integer("refill_time", kRequired, 0, wire::kMaxRefillTimeMs,
                             bucket.refill_time_ms));
  BULWARK_TRY(fields.integer("one_time_burst", kOptional, 0, wire::kMaxBucketTokens,
                             bucket.one_time_burst));
  BULWARK_TRY(fields.only_known_fields());
  if (bucket.size != 0 && bucket.refill_time_ms == 0)
    return fields.field_error("refill_time", "0 with a non-zero size (the bucket would never refill)");
  out = bucket;
  return ok_status();
}

// Firecracker's RateLimiter: {"bandwidth": TokenBucket, "ops": TokenBucket}, both optional.
Status read_rate_limiter(FieldReader& parent, std::string_view name, RateLimiter& out) {
  auto object = parent.object(name, kOptional);
  if (!object.ok()) return object.error();
  if (*object == nullptr) return ok_status();
  FieldReader fields(**object, parent.child_prefix(name));
  RateLimiter limiter;
  BULWARK_TRY(read_bucket(fields, "bandwidth", limiter.bandwidth));
  BULWARK_TRY(read_bucket(fields, "ops", limiter.ops));
  BULWARK_TRY(fields.only_known_fields());
  out = limiter;
  return ok_status();
}

// The body's drive_id / iface_id: required, and the path's (Firecracker refuses a mismatch).
Status read_matching_id(FieldReader& fields, std::string_view name, std::string_view path_id,
                        const TextRule& rule, std::string& out) {
  std::string body_id;
  BULWARK_TRY(fields.text(name, kRequired, rule, body_id));
  if (body_id != path_id)
    return fields.field_error(name, "does not match the " + std::string(name) + " in the path");
  out = body_id;
  return ok_status();
}

// One of `allowed` (exactly as written); `out` gets the value.
Status read_choice(FieldReader& fields, std::string_view name, Presence presence,
                   std::initializer_list<std::string_view> allowed, std::string& out) {
  std::string value;
  const bool present = fields.has(name);
  BULWARK_TRY(fields.text(name, presence, kShortTextRule, value));
  if (!present) return ok_status();
  for (std::string_view choice : allowed) {
    if (value == choice) {
      out = value;
      return ok_status();
    }
  }
  std::string list;
  for (std::string_view choice : allowed) {
    if (!list.empty()) list += ", ";
    list += '"' + std::string(choice) + '"';
  }
  return fields.field_error(name, "expected one of " + list + ", got \"" + echo_text(value) + "\"");
}

// "06:00:AC:10:00:02": six hex pairs; unicast and not all zero (a guest NIC's own address).
Status check_mac(FieldReader& fields, std::string_view mac) {
  const Error bad = fields.field_error("guest_mac", "expected a MAC address like 06:00:ac:10:00:02");
  if (mac.size() != 17) return bad;
  std::array<unsigned, 6> octets{};
  for (size_t i = 0; i < 6; ++i) {
    const size_t at = i * 3;
    if (i > 0 && mac[at - 1] != ':') return bad;
    unsigned octet = 0;
    for (size_t j = 0; j < 2; ++j) {
      const char c = mac[at + j];
      if (!std::isxdigit(static_cast<unsigned char>(c))) return bad;
      octet = octet * 16 + static_cast<unsigned>(std::isdigit(static_cast<unsigned char>(c))
                                                     ? c - '0'
                                                     : std::tolower(c) - 'a' + 10);
    }
    octets[i] = octet;
  }
  if (octets[0] & 1) return fields.field_error("guest_mac", "a multicast address, expected unicast");
  bool zero = true;
  for (unsigned octet : octets) zero = zero && octet == 0;
  if (zero) return fields.field_error("guest_mac", "the all-zero address");
  return ok_status();
}

// A Linux interface name: at most 15 bytes of [A-Za-z0-9_.-] (no '/', ':' or space).
Status check_host_dev_name(FieldReader& fields, std::string_view name) {
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-')
      return fields.field_error("host_dev_name",
                                "expected at most 15 characters from A-Z a-z 0-9 _ . -");
  }
  return ok_status();
}

// Firecracker's path field or its older *_fifo name: exactly one of the two.
Status read_path_or_alias(FieldReader& fields, std::string_view name, std::string_view alias,
                          std::string& out) {
  const bool has_name = fields.has(name), has_alias = fields.has(alias);
  std::string from_name, from_alias;
  BULWARK_TRY(fields.text(name, kOptional, kHostPathRule, from_name));
  BULWARK_TRY(fields.text(alias, kOptional, kHostPathRule, from_alias));
  if (has_name && has_alias)
    return fields.field_error(alias, "give " + std::string(name) + " or " + std::string(alias) +
                                         ", not both");
  if (!has_name && !has_alias) return fields.field_error(name, "required");
  out = has_name ? from_name : from_alias;
  return ok_status();
}

}  // namespace

Result<PutBootSource> put_boot_source(const json& body) {
  FieldReader fields(body, "");
  PutBootSource out;
  BULWARK_TRY(fields.text("kernel_image_path", kRequired, kHostPathRule, out.kernel_image_path));
  BULWARK_TRY(fields.text("initrd_path", kOptional, kOptionalHostPathRule, out.initrd_path));
  BULWARK_TRY(fields.text("boot_args", kOptional, kBootArgsRule, out.boot_args));
  BULWARK_TRY(fields.only_known_fields());
  return out;
}

Result<PutMachineConfig> put_machine_config(const json& body) {
  FieldReader fields(body, "");
  PutMachineConfig out;
  BULWARK_TRY(fields.integer("vcpu_count", kRequired, wire::kVcpuCountRange.min,
                             wire::kVcpuCountRange.max, out.vcpu_count));
  BULWARK_TRY(fields.integer("mem_size_mib", kRequired, wire::kMemSizeMibRange.min,
                             wire::kMemSizeMibRange.max, out.mem_size_mib));
  BULWARK_TRY(fields.boolean("smt", kOptional, out.smt));
  // Bulwark's vCPUs have no SMT sibling topology: asking for it is refused, not ignored.
  if (out.smt) return fields.field_error("smt", "true is not supported (Bulwark has no SMT)");
  BULWARK_TRY(fields.boolean("track_dirty_pages", kOptional, out.track_dirty_pages));
  std::string cpu_template;
  BULWARK_TRY(fields.text("cpu_template", kOptional, kShortTextRule, cpu_template));
  // Firecracker's "None" is no template; any other name is the monitor's to know.
  if (cpu_template != "None" && !cpu_template.empty()) {
    for (char c : cpu_template) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
        return fields.field_error("cpu_template",
                                  "expected a name of 1 to 64 characters from A-Z a-z 0-9 . _ -");
    }
    out.cpu_template = cpu_template;
  }
  BULWARK_TRY(fields.only_known_fields());
  return out;
}

Result<PutDrive> put_drive(std::string_view id, const json& body) {
  FieldReader fields(body, "");
  PutDrive out;
  BULWARK_TRY(read_matching_id(fields, "drive_id", id, wire::kIdRule, out.drive_id));
  if (fields.has("socket"))
    return fields.field_error("socket", "not supported (Bulwark has no vhost-user-block drives)");
  BULWARK_TRY(fields.text("path_on_host", kRequired, kHostPathRule, out.path_on_host));
  // Required by Firecracker; absent is read as false, as its own default would be.
  BULWARK_TRY(fields.boolean("is_root_device", kOptional, out.is_root_device));
  BULWARK_TRY(fields.boolean("is_read_only", kOptional, out.is_read_only));
  BULWARK_TRY(read_rate_limiter(fields, "rate_limiter", out.rate_limiter));
  std::string ignored;
  BULWARK_TRY(fields.text("partuuid", kOptional, kShortTextRule, ignored));
  if (!ignored.empty())
    return fields.field_error("partuuid", "not supported (give the root device in boot_args)");
  // Bulwark always honours the guest's flushes (Firecracker's "Writeback"); "Unsafe" only
  // promised less, so both are accepted and mean the same.
  BULWARK_TRY(read_choice(fields, "cache_type", kOptional, {"Unsafe", "Writeback"}, ignored));
  std::string engine;
  BULWARK_TRY(read_choice(fields, "io_engine", kOptional, {"Sync", "Async"}, engine));
  if (engine == "Async") return fields.field_error("io_engine", "\"Async\" is not supported");
  BULWARK_TRY(read_choice(fields, "format", kOptional, {"raw", "qcow2"}, out.format));
  BULWARK_TRY(fields.only_known_fields());
  return out;
}

Result<PatchDrive> patch_drive(std::string_view id, const json& body) {
  FieldReader fields(body, "");
  PatchDrive out;
  BULWARK_TRY(read_matching_id(fields, "drive_id", id, wire::kIdRule, out.drive_id));
  if (fields.has("path_on_host"))
    return fields.field_error("path_on_host", "not supported (a drive's file is fixed at boot)");
  BULWARK_TRY(read_rate_limiter(fields, "rate_limiter", out.rate_limiter));
  BULWARK_TRY(fields.only_known_fields());
  return out;
}

Result<PutNetworkInterface> put_network_interface(std::string_view id, const json& body) {
  FieldReader fields(body, "");
  PutNetworkInterface out;
  BULWARK_TRY(read_matching_id(fields, "iface_id", id, wire::kIfaceIdRule, out.iface_id));
  BULWARK_TRY(fields.text("host_dev_name", kOptional, kHostDevNameRule, out.host_dev_name));
  BULWARK_TRY(check_host_dev_name(fields, out.host_dev_name));
  BULWARK_TRY(fields.text("guest_mac", kOptional, kShortTextRule, out.guest_mac));
  if (!out.guest_mac.empty()) BULWARK_TRY(check_mac(fields, out.guest_mac));
  BULWARK_TRY(read_rate_limiter(fields, "rx_rate_limiter", out.rx_rate_limiter));
  BULWARK_TRY(read_rate_limiter(fields, "tx_rate_limiter", out.tx_rate_limiter));
  BULWARK_TRY(fields.only_known_fields());
  return out;
}

Result<PatchNetworkInterface> patch_network_interface(std::string_view id, const json& body) {
  FieldReader fields(body, "");
  PatchNetworkInterface out;
  BULWARK_TRY(read_matching_id(fields, "iface_id", id, wire::kIfaceIdRule, out.iface_id));
  BULWARK_TRY(read_rate_limiter(fields, "rx_rate_limiter", out.rx_rate_limiter));
  BULWARK_TRY(read_rate_limiter(fields, "tx_rate_limiter", out.tx_rate_limiter));
  BULWARK_TRY(fields.only_known_fields());
  return out;
}

Result<PutEntropy> put_entropy(const json& body) {
  FieldReader fields(body, "");
  PutEntropy out;
  BULWARK_TRY(read_rate_limiter(fields, "rate_limiter", out.rate_limiter));
  BULWARK_TRY(fields.only_known_fields());
  return out;
}

Result<Command> put_action(const json& body) {
  FieldReader fields(body, "");
  std::string type;
  BULWARK_TRY(read_choice(fields, "action_type", kRequired,
                          {"InstanceStart", "SendCtrlAltDel", "FlushMetrics", "Shutdown"}, type));
  Command out;
  if (type == "Shutdown") {
    Shutdown shutdown;
    BULWARK_TRY(fields.integer("timeout_s", kOptional, wire::kShutdownTimeoutRange.min,
                               wire::kShutdownTimeoutRange.max, shutdown.timeout_s));
    out = shutdown;
  } else {
    if (fields.has("timeout_s"))
      return fields.field_error("timeout_s", "only for action_type \"Shutdown\"");
    if (type == "InstanceStart") {
      out = InstanceStart{};
    } else if (type == "SendCtrlAltDel") {
      out = SendCtrlAltDel{};
    } else {
      out = FlushMetrics{};
    }
  }
  BULWARK_TRY(fields.only_known_fields());
  return out;
}

Result<SetVmState> patch_vm(const json& body) {
  FieldReader fields(body, "");
  std::string state;
  BULWARK_TRY(read_choice(fields, "state", kRequired, {"Paused", "Resumed"}, state));
  BULWARK_TRY(fields.only_known_fields());
  SetVmState out;
  out.paused = state == "Paused";
  return out;
}

Result<PutLogger> put_logger(const json& body) {
  FieldReader fields(body, "");
  PutLogger out;
  // log_fifo is the older Firecracker name of log_path; one of the two, not both.
  BULWARK_TRY(read_path_or_alias(fields, "log_path", "log_fifo", out.log_path));
  std::string level;
  BULWARK_TRY(fields.text("level", kOptional, kShortTextRule, level));
  if (!level.empty()) {
    // Firecracker reads levels without regard to case, and "Warn" as "Warning".
    static constexpr std::array<std::string_view, 6> kLevels{"Error", "Warning", "Info", "Debug", "Trace", "Off"};
    for (std::string_view known : kLevels) {
      if (ascii_equal_ignoring_case(level, known)) out.level = known;
    }
    if (ascii_equal_ignoring_case(level, "Warn")) out.level = "Warning";
    if (out.level.empty())
      return fields.field_error("level", "expected one of Error, Warning, Info, Debug, Trace, Off, got \"" +
                                             echo_text(level) + "\"");
  }
  BULWARK_TRY(fields.boolean("show_level", kOptional, out.show_level));
  BULWARK_TRY(fields.boolean("show_log_origin", kOptional, out.show_log_origin));
  // Carried to the launcher, which says whether it can honour it (jailer/api/vm_api.cc).
  BULWARK_TRY(fields.text("module", kOptional, kShortTextRule, out.module));
  BULWARK_TRY(fields.only_known_fields());
  return out;
}

Result<PutMetrics> put_metrics(const json& body) {
  FieldReader fields(body, "");
  PutMetrics out;
  BULWARK_TRY(read_path_or_alias(fields, "metrics_path", "metrics_fifo", out.metrics_path));
  BULWARK_TRY(fields.only_known_fields());
  return out;
}

Result<PutVsock> put_vsock(const json& body) {
  FieldReader fields(body, "");
  PutVsock out;
  BULWARK_TRY(fields.text("vsock_id", kOptional, kShortTextRule, out.vsock_id));
  BULWARK_TRY(fields.integer("guest_cid", kRequired, wire::kGuestCidRange.min, wire::kGuestCidRange.max,
                             out.guest_cid));
  BULWARK_TRY(fields.text("uds_path", kRequired, kHostPathRule, out.uds_path));
  BULWARK_TRY(fields.only_known_fields());
  return out;
}

Result<PutTpm> put_tpm(const json& body) {
  FieldReader fields(body, "");
  PutTpm out;
  BULWARK_TRY(fields.boolean("enabled", kRequired, out.enabled));
  BULWARK_TRY(fields.only_known_fields());
  return out;
}

}  // namespace bulwark::api::body

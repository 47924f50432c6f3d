#include "jailer/net_config.h"

#include <set>

#include "devices/net/frame_filter.h"
#include "jailer/json_fields.h"
#include "monitor/config/message_text.h"
#include "monitor/config/strict_json.h"

namespace bulwark::jail {

namespace {

using nlohmann::json;

const json::object_t* object_or_null(const json& value) { return value.get_ptr<const json::object_t*>(); }

Error expected_object(const std::string& path, const json& value) {
  return Error(path + ": expected an object, got " + config::describe_json_value(value));
}

bool is_ifname_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

// A Linux interface name we accept: 1..15 bytes of [A-Za-z0-9_.-], not "." or "..".
Status check_ifname(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 15 && name != "." && name != "..";
  for (char c : name) ok = ok && is_ifname_char(c);
  if (ok) return ok_status();
  return Error("expected an interface name of 1 to 15 bytes [A-Za-z0-9_.-], got " + config::quoted_text(name));
}

Status check_optional_ifname(std::string_view name) { return name.empty() ? ok_status() : check_ifname(name); }

Status check_tap_prefix(std::string_view prefix) {
  bool ok = !prefix.empty() && prefix.size() <= kMaxTapPrefixBytes;
  for (char c : prefix) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
  if (ok) return ok_status();
  return Error("expected 1 to 3 bytes of [a-z0-9], got " + config::quoted_text(prefix));
}

Status check_net_id(std::string_view id) {
  bool ok = !id.empty() && id.size() <= kMaxNetIdBytes;
  for (char c : id) ok = ok && is_ifname_char(c) && c != '.';
  if (ok) return ok_status();
  return Error("expected 1 to 15 bytes of [A-Za-z0-9_-], got " + config::quoted_text(id));
}

Status check_mac(std::string_view text) {
  auto mac = net::parse_mac(text);
  if (!mac.ok()) return mac.error();
  if (mac->is_multicast()) return Error(config::quoted_text(text) + " is a multicast address (a NIC's MAC is unicast)");
  if (mac->is_zero()) return Error("00:00:00:00:00:00 is not a NIC's address");
  return ok_status();
}

Status check_prefix(std::string_view text) {
  auto prefix = net::parse_ip_prefix(text);
  if (!prefix.ok()) return prefix.error();
  return ok_status();
}

Status read_prefix_list(const json& value, const std::string& path, std::vector<std::string>& out) {
  const auto* items = value.get_ptr<const json::array_t*>();
  if (items == nullptr) {
    return Error(path + ": expected an array of IP prefixes, got " + config::describe_json_value(value));
  }
  if (items->size() > kMaxAllowedIpsPerNic) return Error(path + ": at most 64 prefixes");
  out.clear();
  for (size_t i = 0; i < items->size(); ++i) {
    std::string prefix;
    if (Status s = read_json_string((*items)[i], check_prefix, &prefix); !s.ok()) {
      return s.error().wrap(config::json_pointer_child(path, i));
    }
    out.push_back(std::move(prefix));
  }
  return ok_status();
}

Status read_allowed_ips(const json& value, const std::string& path, NetHostConfig& net) {
  const auto* vms = object_or_null(value);
  if (vms == nullptr) return expected_object(path, value);
  if (vms->size() > 65536) return Error(path + ": at most 65536 VM ids");
  net.allowed_ips.clear();
  for (const auto& [vm_id, nics_value] : *vms) {
    const std::string vm_path = config::json_pointer_child(path, vm_id);
    const auto* nics = object_or_null(nics_value);
    if (nics == nullptr) return expected_object(vm_path, nics_value);
    if (nics->size() > kMaxNets) return Error(vm_path + ": at most 8 NICs");
    auto& per_vm = net.allowed_ips[vm_id];
    for (const auto& [nic_id, prefixes] : *nics) {
      const std::string nic_path = config::json_pointer_child(vm_path, nic_id);
      if (Status s = check_net_id(nic_id); !s.ok()) return s.error().wrap(nic_path);
      BULWARK_TRY(read_prefix_list(prefixes, nic_path, per_vm[nic_id]));
    }
  }
  return ok_status();
}

Status read_rate_ceilings(const json& value, const std::string& path, NetHostConfig& net) {
  const auto* members = object_or_null(value);
  if (members == nullptr) return expected_object(path, value);
  for (const auto& [key, member] : *members) {
    const std::string field = config::json_pointer_child(path, key);
    uint64_t* out = key == "rx_bytes_per_sec"     ? &net.rx_bytes_per_sec
                    : key == "tx_bytes_per_sec"   ? &net.tx_bytes_per_sec
                    : key == "rx_packets_per_sec" ? &net.rx_packets_per_sec
                    : key == "tx_packets_per_sec" ? &net.tx_packets_per_sec
                                                  : nullptr;
    if (out == nullptr) return Error(field + ": unknown field");
    if (Status s = read_json_integer(member, 0, kMaxBucketSize, out); !s.ok()) return s.error().wrap(field);
  }
  return ok_status();
}

// {"size", "refill_time", "one_time_burst"}: Firecracker's TokenBucket.
Status read_bucket(const json& value, const std::string& path, RateBucket& bucket) {
  const auto* members = object_or_null(value);
  if (members == nullptr) return expected_object(path, value);
  bool has_size = false, has_refill = false;
  for (const auto& [key, member] : *members) {
    const std::string field = config::json_pointer_child(path, key);
    Status status = ok_status();
    if (key == "size") {
      status = read_json_integer(member, 1, kMaxBucketSize, &bucket.size);
      has_size = true;
    } else if (key == "refill_time") {
      status = read_json_integer(member, 1, kMaxRefillTimeMs, &bucket.refill_time_ms);
      has_refill = true;
    } else if (key == "one_time_burst") {
      status = read_json_integer(member, 0, kMaxBucketSize, &bucket.one_time_burst);
    } else {
      return Error(field + ": unknown field (size, refill_time or one_time_burst)");
    }
    if (!status.ok()) return status.error().wrap(field);
  }
  if (!has_size) return Error(path + "/size: required");
  if (!has_refill) return Error(path + "/refill_time: required");
  return ok_status();
}

}  // namespace

Status read_rate_pair(const json& value, const std::string& path, RateBucket& bytes, RateBucket& packets) {
  const auto* members = object_or_null(value);
  if (members == nullptr) return expected_object(path, value);
  for (const auto& [key, member] : *members) {
    const std::string field = config::json_pointer_child(path, key);
    if (key == "bandwidth") {
      BULWARK_TRY(read_bucket(member, field, bytes));
    } else if (key == "ops") {
      BULWARK_TRY(read_bucket(member, field, packets));
    } else {
      return Error(field + ": unknown field (bandwidth or ops)");
    }
  }
  return ok_status();
}

namespace {

Status read_rate_limiter(const json& value, const std::string& path, NetRateLimiter& limiter) {
  const auto* members = object_or_null(value);
  if (members == nullptr) return expected_object(path, value);
  for (const auto& [key, member] : *members) {
    const std::string field = config::json_pointer_child(path, key);
    if (key == "rx") {
      BULWARK_TRY(read_rate_pair(member, field, limiter.rx_bytes, limiter.rx_packets));
    } else if (key == "tx") {
      BULWARK_TRY(read_rate_pair(member, field, limiter.tx_bytes, limiter.tx_packets));
    } else {
      return Error(field + ": unknown field (rx or tx)");
    }
  }
  return ok_status();
}

Status read_net(const json& value, const std::string& path, NetSettings& net) {
  const auto* members = object_or_null(value);
  if (members == nullptr) return expected_object(path, value);
  bool has_id = false;
  for (const auto& [key, member] : *members) {
    const std::string field = config::json_pointer_child(path, key);
    Status status = ok_status();
    if (key == "id") {
      status = read_json_string(member, check_net_id, &net.id);
      has_id = true;
    } else if (key == "mac") {
      status = read_json_string(member, check_mac, &net.mac);
      if (status.ok()) net.mac = net::parse_mac(net.mac)->to_string();
    } else if (key == "mtu") {
      status = read_json_integer(member, kMinNetMtu, kMaxNetMtu, &net.mtu);
    } else if (key == "queues") {
      status = read_json_integer(member, 1, kMaxNetQueuePairs, &net.queues);
    } else if (key == "rate_limiter") {
      BULWARK_TRY(read_rate_limiter(member, field, net.rate_limiter));
    } else if (key == "allowed_ips" || key == "tap" || key == "host_dev_name" || key == "bridge" ||
               key == "netns" || key == "allow_vlan" || key == "allow_mac_change") {
      return Error(field + ": an operator setting; a VM config may not set it (the host config's "
                   "\"net\" and bulwark run's flags do)");
    } else {
      return Error(field + ": unknown field");
    }
    if (!status.ok()) return status.error().wrap(field);
  }
  if (!has_id) return Error(path + "/id: required");
  return ok_status();
}

Status check_bucket(const RateBucket& bucket, const std::string& path) {
  if (!bucket.limited()) {
    if (bucket.refill_time_ms != 0 || bucket.one_time_burst != 0) return Error(path + ": a bucket without a size");
    return ok_status();
  }
  if (bucket.size > kMaxBucketSize) return Error(path + "/size: out of range");
  if (bucket.refill_time_ms < 1 || bucket.refill_time_ms > kMaxRefillTimeMs) {
    return Error(path + "/refill_time: out of range");
  }
  if (bucket.one_time_burst > kMaxBucketSize) return Error(path + "/one_time_burst: out of range");
  return ok_status();
}

// Tokens per second a bucket refills, rounded up (so a bucket at the ceiling is not refused
// by rounding). size <= 2^40 and the factor 1000 keep this far from overflow.
uint64_t bucket_rate_per_second(const RateBucket& bucket) {
  return (bucket.size * 1000 + bucket.refill_time_ms - 1) / bucket.refill_time_ms;
}

// The tenant's bucket within the operator's ceiling (tokens per second; 0 = none): none asked
// becomes the ceiling; a faster one, or a burst above one second's worth, is refused.
Status apply_ceiling(RateBucket& bucket, uint64_t ceiling, const std::string& path, const char* limit) {
  if (ceiling == 0) return ok_status();
  if (!bucket.limited()) {
    bucket = RateBucket{ceiling, 1000, 0};
    return ok_status();
  }
  const uint64_t rate = bucket_rate_per_second(bucket);
  if (rate > ceiling) {
    return Error("config: " + path + ": " + std::to_string(rate) + " per second is above the operator's ceiling " +
                 std::to_string(ceiling) + " (net.rate_limit." + limit + ")");
  }
  if (bucket.one_time_burst > ceiling) {
    return Error("config: " + path + "/one_time_burst: " + std::to_string(bucket.one_time_burst) +
                 " is above the operator's ceiling " + std::to_string(ceiling) + " (net.rate_limit." + limit + ")");
  }
  return ok_status();
}

uint64_t fnv1a(std::string_view text, uint64_t hash) {
  for (char c : text) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

}  // namespace

Status read_host_net_config(const json& value, const std::string& path, NetHostConfig& net) {
  const auto* members = object_or_null(value);
  if (members == nullptr) return expected_object(path, value);
  for (const auto& [key, member] : *members) {
    const std::string field = config::json_pointer_child(path, key);
    Status status = ok_status();
    if (key == "tap_netns") {
      status = read_json_string(member, check_netns_name, &net.tap_netns);
    } else if (key == "bridge") {
      status = read_json_string(member, check_optional_ifname, &net.bridge);
    } else if (key == "tap_prefix") {
      status = read_json_string(member, check_tap_prefix, &net.tap_prefix);
    } else if (key == "max_nets") {
      status = read_json_integer(member, 0, kMaxNets, &net.max_nets);
    } else if (key == "max_queue_pairs") {
      status = read_json_integer(member, 1, kMaxNetQueuePairs, &net.max_queue_pairs);
    } else if (key == "max_mtu") {
      status = read_json_integer(member, kMinNetMtu, kMaxNetMtu, &net.max_mtu);
    } else if (key == "allow_vlan") {
      status = read_json_bool(member, &net.allow_vlan);
    } else if (key == "allow_mac_change") {
      status = read_json_bool(member, &net.allow_mac_change);
    } else if (key == "rate_limit") {
      BULWARK_TRY(read_rate_ceilings(member, field, net));
    } else if (key == "allowed_ips") {
      BULWARK_TRY(read_allowed_ips(member, field, net));
    } else {
      return Error(field + ": unknown field");
    }
    if (!status.ok()) return status.error().wrap(field);
  }
  return ok_status();
}

Status read_nets(const json& value, std::vector<NetSettings>& nets) {
  const auto* items = value.get_ptr<const json::array_t*>();
  if (items == nullptr) return Error("/nets: expected an array, got " + config::describe_json_value(value));
  if (items->size() > kMaxNets) return Error("/nets: at most 8 NICs");
  nets.clear();
  for (size_t i = 0; i < items->size(); ++i) {
    NetSettings net;
    BULWARK_TRY(read_net((*items)[i], config::json_pointer_child("/nets", i), net));
    nets.push_back(std::move(net));
  }
  return ok_status();
}

Status validate_nets(const std::vector<NetSettings>& nets) {
  if (nets.size() > kMaxNets) return Error("/nets: at most 8 NICs");
  std::set<std::string> ids;
  for (size_t i = 0; i < nets.size(); ++i) {
    const NetSettings& net = nets[i];
    const std::string path = config::json_pointer_child("/nets", i);
    if (Status s = check_net_id(net.id); !s.ok()) return s.error().wrap(path + "/id");
    if (!ids.insert(net.id).second) return Error(path + "/id: " + config::quoted_text(net.id) + " is used by another NIC");
    if (!net.mac.empty()) {
      if (Status s = check_mac(net.mac); !s.ok()) return s.error().wrap(path + "/mac");
    }
    if (net.mtu < kMinNetMtu || net.mtu > kMaxNetMtu) return Error(path + "/mtu: out of range");
    if (net.queues < 1 || net.queues > kMaxNetQueuePairs) return Error(path + "/queues: out of range");
    const NetRateLimiter& r = net.rate_limiter;
    BULWARK_TRY(check_bucket(r.rx_bytes, path + "/rate_limiter/rx/bandwidth"));
    BULWARK_TRY(check_bucket(r.rx_packets, path + "/rate_limiter/rx/ops"));
    BULWARK_TRY(check_bucket(r.tx_bytes, path + "/rate_limiter/tx/bandwidth"));
    BULWARK_TRY(check_bucket(r.tx_packets, path + "/rate_limiter/tx/ops"));
    if (net.allowed_ips.size() > kMaxAllowedIpsPerNic) return Error(path + ": at most 64 allowed prefixes");
    for (const std::string& prefix : net.allowed_ips) {
      if (Status s = check_prefix(prefix); !s.ok()) return s.error().wrap(path + ": allowed prefix");
    }
  }
  return ok_status();
}

Status parse_allowed_ips_flag(std::string_view text, std::map<std::string, std::vector<std::string>>& out) {
  const size_t equals = text.find('=');
  if (equals == std::string_view::npos) return Error("expected NIC=PREFIX[,PREFIX...], got " + config::quoted_text(text));
  const std::string nic(text.substr(0, equals));
  if (Status s = check_net_id(nic); !s.ok()) return s.error().wrap("NIC id");
  std::vector<std::string>& prefixes = out[nic];
  std::string_view rest = text.substr(equals + 1);
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    if (Status s = check_prefix(item); !s.ok()) return s.error().wrap(config::quoted_text(item));
    if (prefixes.size() >= kMaxAllowedIpsPerNic) return Error("at most 64 prefixes per NIC");
    prefixes.emplace_back(item);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
    if (rest.empty()) return Error("a trailing ','");
  }
  if (prefixes.empty()) return Error("no prefix given for NIC " + nic);
  return ok_status();
}

Status apply_net_rate_ceilings(const NetHostConfig& host, const std::string& path, NetRateLimiter& r) {
  BULWARK_TRY(apply_ceiling(r.rx_bytes, host.rx_bytes_per_sec, path + "/rx/bandwidth", "rx_bytes_per_sec"));
  BULWARK_TRY(apply_ceiling(r.rx_packets, host.rx_packets_per_sec, path + "/rx/ops", "rx_packets_per_sec"));
  BULWARK_TRY(apply_ceiling(r.tx_bytes, host.tx_bytes_per_sec, path + "/tx/bandwidth", "tx_bytes_per_sec"));
  return apply_ceiling(r.tx_packets, host.tx_packets_per_sec, path + "/tx/ops", "tx_packets_per_sec");
}

Status apply_net_settings(const NetHostConfig& host, const std::string& vm_id,
                          const std::map<std::string, std::vector<std::string>>& flag_allowed_ips,
                          LaunchConfig& config) {
  for (const auto& [nic, prefixes] : flag_allowed_ips) {
    bool known = false;
    for (const NetSettings& net : config.nets) known = known || net.id == nic;
    if (!known) return Error("--allowed-ips: the VM config has no NIC " + config::quoted_text(nic));
  }
  if (config.nets.size() > host.max_nets) {
    return Error("config: /nets: " + std::to_string(config.nets.size()) + " NICs is above the operator's ceiling " +
                 std::to_string(host.max_nets) + " (net.max_nets)");
  }
  const auto vm_ips = host.allowed_ips.find(vm_id);
  for (size_t i = 0; i < config.nets.size(); ++i) {
    NetSettings& net = config.nets[i];
    const std::string path = config::json_pointer_child("/nets", i);
    if (net.mtu > host.max_mtu) {
      return Error("config: " + path + "/mtu: " + std::to_string(net.mtu) + " is above the operator's ceiling " +
                   std::to_string(host.max_mtu) + " (net.max_mtu)");
    }
    if (net.queues > host.max_queue_pairs) {
      return Error("config: " + path + "/queues: " + std::to_string(net.queues) +
                   " is above the operator's ceiling " + std::to_string(host.max_queue_pairs) +
                   " (net.max_queue_pairs)");
    }
    BULWARK_TRY(apply_net_rate_ceilings(host, path + "/rate_limiter", net.rate_limiter));
    if (net.mac.empty()) net.mac = derived_mac(vm_id, net.id);
    net.allowed_ips.clear();
    if (vm_ips != host.allowed_ips.end()) {
      if (auto nic = vm_ips->second.find(net.id); nic != vm_ips->second.end()) net.allowed_ips = nic->second;
    }
    if (auto flag = flag_allowed_ips.find(net.id); flag != flag_allowed_ips.end()) net.allowed_ips = flag->second;
  }
  config.net_placement.tap_netns = host.tap_netns;
  config.net_placement.bridge = host.bridge;
  config.net_placement.tap_prefix = host.tap_prefix;
  config.net_placement.allow_vlan = host.allow_vlan;
  config.net_placement.allow_mac_change = host.allow_mac_change;
  return ok_status();
}

std::string tap_name(const NetPlacement& placement, uint32_t uid, size_t index) {
  return placement.tap_prefix + std::to_string(uid) + "n" + std::to_string(index);
}

std::string derived_mac(std::string_view vm_id, std::string_view nic_id) {
  uint64_t hash = fnv1a(vm_id, 0xcbf29ce484222325ULL);
  hash = fnv1a(std::string_view("\0", 1), hash);
  hash = fnv1a(nic_id, hash);
  net::MacAddress mac;
  mac.bytes[0] = 0x02;  // locally administered, unicast
  for (size_t i = 1; i < mac.bytes.size(); ++i) mac.bytes[i] = static_cast<uint8_t>(hash >> (8 * (i - 1)));
  return mac.to_string();
}

std::string describe_net_host_config(const NetHostConfig& n) {
  std::string text;
  auto line = [&text](const std::string& name, const std::string& value) {
    text += "  net." + name + " = " + value + "\n";
  };
  auto rate = [](uint64_t value) { return value == 0 ? std::string("(none)") : std::to_string(value); };
  line("tap_netns", n.tap_netns.empty() ? "(the launcher's namespace)" : n.tap_netns);
  line("bridge", n.bridge.empty() ? "(none)" : n.bridge);
  line("tap_prefix", n.tap_prefix);
  line("max_nets", std::to_string(n.max_nets));
  line("max_queue_pairs", std::to_string(n.max_queue_pairs));
  line("max_mtu", std::to_string(n.max_mtu));
  line("allow_vlan", n.allow_vlan ? "true" : "false");
  line("allow_mac_change", n.allow_mac_change ? "true" : "false");
  line("rate_limit.rx_bytes_per_sec", rate(n.rx_bytes_per_sec));
  line("rate_limit.tx_bytes_per_sec", rate(n.tx_bytes_per_sec));
  line("rate_limit.rx_packets_per_sec", rate(n.rx_packets_per_sec));
  line("rate_limit.tx_packets_per_sec", rate(n.tx_packets_per_sec));
  line("allowed_ips", std::to_string(n.allowed_ips.size()) + " VM ids");
  return text;
}

}  // namespace bulwark::jail

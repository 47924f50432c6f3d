#include "jailer/policy_cli/process_profile.h"

#include <sched.h>

#include <functional>
#include <utility>
#include <vector>

#include "bulwark/common/hex.h"
#include "jailer/api/api_process.h"
#include "jailer/device_spec.h"
#include "jailer/jail_config.h"
#include "jailer/jail_profile.h"
#include "jailer/monitor_spec.h"
#include "jailer/policy_cli/policy_tree.h"
#include "jailer/policy_cli/seccomp_json.h"
#include "jailer/policy_cli/selinux_te.h"
#include "jailer/svirt/security_context.h"

namespace bulwark::policy_cli {

namespace {

using nlohmann::json;

// The launcher's domain (policy/selinux/bulwark.te); no launcher code names it.
constexpr const char* kLauncherSelinuxDomain = "bulwark_launcher_t";

// The VM the listing describes; every value shown is what the launcher would compute for it.
constexpr uint64_t kRepresentativeMemoryMib = 512;
constexpr uint64_t kRepresentativeImageBytes = uint64_t{1} << 30;
// Stand-ins for the launcher's fds, so the listing can say what each passed fd is.
constexpr int kNullFdMarker = 900;
constexpr int kSocketFdMarker = 901;
constexpr int kImageFdMarker = 902;
constexpr int kTapFdMarker = 903;
constexpr int kApiListenFdMarker = 904;
constexpr int kApiChannelFdMarker = 905;
constexpr int kListenFdMarker = 906;

// One input of the launch that a limit may follow; `apply` changes it in a copy.
struct Variation {
  const char* input;  // as an operator would name it
  std::function<void(jail::LaunchConfig&, uint64_t& image_bytes)> apply;
};

const std::vector<Variation>& variations() {
  static const std::vector<Variation> kVariations = {
      {"guest RAM", [](jail::LaunchConfig& c, uint64_t&) { c.vm.memory_mib *= 2; }},
      {"jail.memory_overhead_mib", [](jail::LaunchConfig& c, uint64_t&) { c.jail.memory_overhead_mib += 64; }},
      {"jail.pids_max", [](jail::LaunchConfig& c, uint64_t&) { c.jail.pids_max += 1; }},
      {"jail.cpu_quota_percent", [](jail::LaunchConfig& c, uint64_t&) { c.jail.cpu_quota_percent += 50; }},
      {"disk image size", [](jail::LaunchConfig&, uint64_t& bytes) { bytes *= 2; }},
  };
  return kVariations;
}

jail::LaunchConfig representative_launch() {
  jail::LaunchConfig config;
  config.jail.id = "vm-1";
  config.vm.kernel = "<vm.kernel>";
  config.vm.initrd = "<vm.initrd>";
  config.vm.memory_mib = kRepresentativeMemoryMib;
  jail::DiskSettings disk;
  disk.path = "<disk image>";
  config.disks.push_back(disk);
  config.rng = true;
  // One NIC with one queue pair, as a VM config asks for it (the operator's placement and
  // allowed_ips left at their defaults).
  jail::NetSettings net;
  net.id = "net0";
  net.mac = "52:54:00:12:34:56";
  net.mtu = 1500;
  net.queues = 1;
  config.nets.push_back(net);
  // A vsock device under the host config's defaults.
  config.vsock = jail::VsockSettings{3, "v.sock"};
  config.vsock_host.dir = "<vsock.dir>";
  return config;
}

jail::MonitorLaunchOptions launch_options(const std::string& seccomp_dir) {
  jail::MonitorLaunchOptions options;
  options.monitor_path = "<bulwark-monitor>";
  options.dev_blk_path = "<bulwark-dev-blk>";
  options.dev_rng_path = "<bulwark-dev-rng>";
  options.dev_net_path = "<bulwark-dev-net>";
  options.dev_vsock_path = "<bulwark-dev-vsock>";
  options.seccomp_policy_dir = seccomp_dir;
  return options;
}

using SpecBuilder = std::function<jail::JailSpec(const jail::LaunchConfig&, uint64_t image_bytes)>;

// The device kind of a "dev-*" process kind (policy_tree.cc).
jail::DeviceKind device_kind_of(const std::string& kind_id) {
  if (kind_id == "dev-blk") return jail::DeviceKind::kBlk;
  if (kind_id == "dev-net") return jail::DeviceKind::kNet;
  if (kind_id == "dev-vsock") return jail::DeviceKind::kVsock;
  return jail::DeviceKind::kRng;
}

SpecBuilder spec_builder(const std::string& kind_id, const std::string& seccomp_dir) {
  if (kind_id == "monitor-main" || kind_id == "monitor-vcpu") {
    return [seccomp_dir](const jail::LaunchConfig& config, uint64_t) {
      return jail::build_monitor_spec(config, launch_options(seccomp_dir));
    };
  }
  if (kind_id == "api") {
    return [seccomp_dir](const jail::LaunchConfig& config, uint64_t) {
      const jail::MonitorLaunchOptions options = launch_options(seccomp_dir);
      jail::ApiProcessSettings settings;
      settings.binary = "<bulwark-api>";
      settings.jail = config.jail;
      settings.options = &options;
      settings.listen_fd = kApiListenFdMarker;
      settings.null_fd = kNullFdMarker;
      return jail::build_api_spec(settings, kApiChannelFdMarker);
    };
  }
  const jail::DeviceKind device = device_kind_of(kind_id);
  return [seccomp_dir, device](const jail::LaunchConfig& config, uint64_t image_bytes) {
    jail::DeviceLaunch launch;
    launch.kind = device;
    launch.null_fd = kNullFdMarker;
    launch.socket_fd = kSocketFdMarker;
    switch (device) {
      case jail::DeviceKind::kBlk:
        launch.name = "blk0";
        launch.disk = &config.disks.front();
        launch.image_bytes = image_bytes;
        launch.image_fd = kImageFdMarker;
        break;
      case jail::DeviceKind::kNet:
        launch.name = "net0";
        launch.net = &config.nets.front();
        launch.tap_fds = {kTapFdMarker};  // one per queue pair
        break;
      case jail::DeviceKind::kRng:
        launch.name = "rng";
        break;
      case jail::DeviceKind::kVsock:
        launch.name = "vsock";
        launch.vsock = &*config.vsock;
        launch.vsock_dir = config.vsock_host.dir + "/<vm id>";
        launch.listen_fd = kListenFdMarker;
        break;
    }
    return jail::build_device_spec(config, launch_options(seccomp_dir), launch);
  };
}

std::string selinux_domain_of(const std::string& kind_id) {
  if (kind_id == "launcher") return kLauncherSelinuxDomain;
  if (kind_id.starts_with("dev-")) return jail::device_selinux_domain(device_kind_of(kind_id));
  if (kind_id == "api") return jail::kApiSelinuxDomain;
  return jailer::SvirtTypes{}.vm_domain;
}

// A numeric field of the spec with the launch inputs it follows.
struct Field {
  const char* name;
  std::function<uint64_t(const jail::JailSpec&)> get;
};

json field_with_inputs(const Field& field, const SpecBuilder& build, const jail::JailSpec& base) {
  const uint64_t value = field.get(base);
  json inputs = json::array();
  for (const Variation& variation : variations()) {
    jail::LaunchConfig config = representative_launch();
    uint64_t image_bytes = kRepresentativeImageBytes;
    variation.apply(config, image_bytes);
    if (field.get(build(config, image_bytes)) != value) inputs.push_back(variation.input);
  }
  return json{{"value", value}, {"follows", inputs}};
}

std::string mib_text(uint64_t bytes) {
  if (bytes % (uint64_t{1} << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes) + " bytes";
}

json cgroup_json(const SpecBuilder& build, const jail::JailSpec& base) {
  json out;
  out["path"] = base.cgroup_parent + "/" + base.vm_id;
  json memory = field_with_inputs({"memory", [](const jail::JailSpec& s) { return s.limits.memory_bytes; }},
                                  build, base);
  // memory = RAM * slope + fixed: found by doubling RAM.
  const uint64_t ram = kRepresentativeMemoryMib << 20;
  jail::LaunchConfig doubled = representative_launch();
  doubled.vm.memory_mib *= 2;
  const uint64_t at_double = build(doubled, kRepresentativeImageBytes).limits.memory_bytes;
  const uint64_t value = base.limits.memory_bytes;
  std::string formula;
  if (value == 0) {
    formula = "no limit";
  } else if (at_double - value == ram && value >= ram) {
    formula = "guest RAM + " + mib_text(value - ram);
  } else {
    formula = mib_text(value);
  }
  memory["formula"] = formula;
  out["memory_max_bytes"] = memory;
  out["pids_max"] = field_with_inputs({"pids", [](const jail::JailSpec& s) { return s.limits.pids_max; }},
                                      build, base);
  out["cpu_quota_us"] = field_with_inputs(
      {"quota", [](const jail::JailSpec& s) { return s.limits.cpu_quota_us; }}, build, base);
  out["cpu_period_us"] = base.limits.cpu_period_us;
  out["cpuset"] = base.limits.cpuset.empty() ? "inherited from the parent (jail.cpuset)" : base.limits.cpuset;
  return out;
}

json rlimits_json(const SpecBuilder& build, const jail::JailSpec& base) {
  const std::vector<Field> fields = {
      {"RLIMIT_NOFILE", [](const jail::JailSpec& s) { return s.rlimits.nofile; }},
      {"RLIMIT_FSIZE", [](const jail::JailSpec& s) { return s.rlimits.fsize; }},
      {"RLIMIT_NPROC", [](const jail::JailSpec& s) { return s.rlimits.nproc; }},
      {"RLIMIT_CORE", [](const jail::JailSpec& s) { return s.rlimits.core; }},
      {"RLIMIT_MEMLOCK", [](const jail::JailSpec& s) { return s.rlimits.memlock; }},
  };
  json out = json::object();
  for (const Field& field : fields) out[field.name] = field_with_inputs(field, build, base);
  return out;
}

json namespaces_json(const std::string& kind_id, const SpecBuilder& build, const jail::JailSpec& base) {
  static const std::pair<unsigned long, const char*> kNamespaces[] = {
      {CLONE_NEWNS, "mnt"},   {CLONE_NEWPID, "pid"},   {CLONE_NEWIPC, "ipc"},    {CLONE_NEWUTS, "uts"},
      {CLONE_NEWNET, "net"},  {CLONE_NEWUSER, "user"}, {CLONE_NEWCGROUP, "cgroup"}, {CLONE_NEWTIME, "time"}};
  const unsigned long flags = jail::jail_namespace_flags(base);
  json out{{"new", json::array()}, {"host", json::array()}};
  for (const auto& [flag, name] : kNamespaces) out[(flags & flag) != 0 ? "new" : "host"].push_back(name);
  // Does a named network namespace in the config change it?
  jail::LaunchConfig named = representative_launch();
  named.jail.netns = "example";
  const bool joins_named = (jail::jail_namespace_flags(build(named, kRepresentativeImageBytes)) & CLONE_NEWNET) == 0;
  if ((flags & CLONE_NEWNET) != 0) {
    out["net"] = joins_named ? "new and empty, or the one jail.netns names (/run/netns/NAME)"
                             : "always new and empty (jail.netns does not apply)";
  }
  const std::string instance = kind_id.starts_with("dev-") ? ".<device>" : kind_id == "api" ? ".api" : "";
  out["root"] = "pivot_root into " + base.base_dir + "/<id>" + instance +
                "/root (read-only, nosuid, nodev, noexec), the old root detached";
  return out;
}

json securebits_json() {
  static const std::pair<unsigned long, const char*> kBits[] = {
      {SECBIT_NOROOT, "NOROOT"},
      {SECBIT_NOROOT_LOCKED, "NOROOT_LOCKED"},
      {SECBIT_NO_SETUID_FIXUP, "NO_SETUID_FIXUP"},
      {SECBIT_NO_SETUID_FIXUP_LOCKED, "NO_SETUID_FIXUP_LOCKED"},
      {SECBIT_KEEP_CAPS, "KEEP_CAPS"},
      {SECBIT_KEEP_CAPS_LOCKED, "KEEP_CAPS_LOCKED"},
      {SECBIT_NO_CAP_AMBIENT_RAISE, "NO_CAP_AMBIENT_RAISE"},
      {SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED, "NO_CAP_AMBIENT_RAISE_LOCKED"}};
  json out = json::array();
  for (const auto& [bit, name] : kBits) {
    if ((jail::kJailSecurebits & bit) != 0) out.push_back(name);
  }
  return out;
}

std::string fd_source_text(int source) {
  switch (source) {
    case kNullFdMarker: return "/dev/null";
    case kSocketFdMarker: return "its end of the vhost-user socketpair with the monitor";
    case kImageFdMarker: return "the disk image, opened by the launcher as the VM user";
    case kTapFdMarker:
      return "TAP queue of its NIC (one per queue pair): /dev/net/tun opened and attached to the VM's TAP by "
             "the launcher";
    case kApiListenFdMarker:
      return "the listening API socket at the operator's path (bulwark run --api-sock), bound by the launcher; "
             "it accepts the operator's clients on it";
    case kApiChannelFdMarker:
      return "its end of the SOCK_SEQPACKET command channel to the launcher (one command per datagram)";
    case kListenFdMarker:
      return "the listening vsock socket <vsock.dir>/<vm id>/<uds_path>, bound by the launcher; it accepts the "
             "operator's host clients on it";
    default: return "the launcher's fd " + std::to_string(source);
  }
}

std::string octal(unsigned mode) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "0%o", mode);
  return buffer;
}

json jail_root_json(const jail::JailSpec& spec) {
  json root = json::array();
  for (const jail::ReadOnlyInput& input : spec.inputs) {
    root.push_back({{"path", input.jail_path},
                    {"type", "read-only bind mount"},
                    {"source", input.host_path},
                    {"exec", input.allow_exec},
                    {"opened_as_vm_user", input.check_vm_access}});
  }
  for (const jail::JailSymlink& link : spec.symlinks) {
    root.push_back({{"path", link.jail_path}, {"type", "symlink"}, {"target", link.target}});
  }
  for (const jail::GeneratedFile& file : spec.files) {
    root.push_back({{"path", file.jail_path},
                    {"type", "generated file, root:<VM gid> 0640 (readable, never writable)"}});
  }
  return root;
}

json jailed_profile(const PolicyKind& kind, const ShowOptions& options) {
  const SpecBuilder build = spec_builder(kind.id, options.seccomp_dir);
  const jail::JailSpec spec = build(representative_launch(), kRepresentativeImageBytes);
  json out;
  out["jailed"] = true;
  out["executable"] = spec.exec_jail_path;
  out["argv"] = spec.argv;
  const jail::JailSettings defaults;
  out["uid_gid"] = "the VM's own uid and gid (allocated from " + std::to_string(defaults.id_range_first) +
                   "-" + std::to_string(defaults.id_range_last) + ", or jail.uid/jail.gid), never 0";
  out["namespaces"] = namespaces_json(kind.id, build, spec);
  out["capabilities"] = json::array();
  out["capability_sets_cleared"] = {"effective", "permitted", "inheritable", "bounding", "ambient"};
  out["securebits"] = securebits_json();
  out["no_new_privs"] = jail::kJailNoNewPrivs == 1;
  out["dumpable"] = jail::kJailDumpable != 0;
  out["environment"] = "empty";
  out["rlimits"] = rlimits_json(build, spec);
  out["cgroup"] = cgroup_json(build, spec);
  out["jail_root"] = jail_root_json(spec);
  json dev = json::array();
  for (const jail::DeviceNode& node : spec.devices) {
    dev.push_back({{"path", node.jail_path}, {"host", node.host_path}, {"mode", octal(node.mode)},
                   {"owner", "the VM's uid/gid"}});
  }
  out["dev"] = dev;
  json fds = json::array();
  for (const jail::PassedFd& fd : spec.fds) fds.push_back({{"fd", fd.target}, {"from", fd_source_text(fd.source)}});
  out["fds"] = fds;
  out["seccomp_installed_by"] =
      spec.seccomp_program.empty() ? "the process itself, from its policy files under " +
                                         std::string(jail::kPolicyJailPath) + " (the jail installs none)"
                                   : "the jail, last before exec";
  return out;
}

json launcher_profile() {
  return json{{"jailed", false},
              {"note", "the privileged entry point: runs on the host as root with root's capabilities, "
                       "in the host's namespaces, without a seccomp filter; it never maps or reads "
                       "guest memory and starts every other process through the jail"}};
}

json selinux_json(const std::string& domain, const ShowOptions& options) {
  json out{{"domain", domain}};
  jailer::SvirtTypes types;
  std::string context = jailer::process_context(types, domain, jailer::McsPair{0, 1});
  if (domain != kLauncherSelinuxDomain) {
    const size_t categories = context.rfind(":c0,c1");
    if (categories != std::string::npos) context.replace(categories, 6, ":cA,cB (the VM's category pair)");
  } else {
    const size_t categories = context.rfind(":c0,c1");
    if (categories != std::string::npos) context.erase(categories);
  }
  out["context"] = context;
  const std::string te = options.selinux_dir ? *options.selinux_dir + "/bulwark.te" : "";
  auto text = te.empty() ? Result<std::string>(Error("none")) : read_text_file(te);
  if (!text.ok()) {
    out["module"] = "module not built";
    return out;
  }
  TeModule module;
  parse_te_text(*text, te, module);
  out["module"] = te;
  json access = json::array();
  for (const DomainAccess& a : domain_access(module, domain)) {
    json entry{{"target", a.target}, {"class", a.object_class}, {"perms", a.perms}};
    if (!a.via.empty()) entry["via_attribute"] = a.via;
    access.push_back(entry);
  }
  out["allow"] = access;
  json ioctls = json::array();
  for (const DomainAccess& a : domain_ioctl_commands(module, domain)) {
    json entry{{"target", a.target}, {"class", a.object_class}, {"commands", a.perms}};
    if (!a.via.empty()) entry["via_attribute"] = a.via;
    ioctls.push_back(entry);
  }
  out["ioctl_commands_only"] = ioctls;
  json calls = json::array();
  for (const InterfaceCall* call : domain_calls(module, domain)) {
    calls.push_back(call->text + "  [" + call->file + ":" + std::to_string(call->line) + "]");
  }
  out["interface_calls"] = calls;
  return out;
}

}  // namespace

nlohmann::json build_process_profiles(const ShowOptions& options) {
  json doc;
  doc["seccomp_dir"] = options.seccomp_dir;
  doc["selinux_dir"] = options.selinux_dir ? json(*options.selinux_dir) : json(nullptr);
  doc["representative_vm"] = {{"memory_mib", kRepresentativeMemoryMib},
                              {"disks", 1},
                              {"disk_image_bytes", kRepresentativeImageBytes},
                              {"rng", true},
                              {"nets", 1},
                              {"net_queue_pairs", 1}};
  json processes = json::array();
  for (const PolicyKind& kind : policy_kinds()) {
    json process = std::string(kind.id) == "launcher" ? launcher_profile() : jailed_profile(kind, options);
    process["kind"] = kind.id;
    process["title"] = kind.title;
    process["selinux"] = selinux_json(selinux_domain_of(kind.id), options);
    process["seccomp"] = kind.policy_file == nullptr
                             ? json{{"status", "not filtered"}}
                             : seccomp_policy_json(options.seccomp_dir, kind.policy_file);
    processes.push_back(std::move(process));
  }
  doc["processes"] = std::move(processes);
  return doc;
}

}  // namespace bulwark::policy_cli

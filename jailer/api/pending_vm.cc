#include "jailer/api/pending_vm.h"

#include <nlohmann/json.hpp>

#include "jailer/api/api_host_config.h"
#include "jailer/api/replies.h"
#include "jailer/vsock_config.h"

namespace bulwark::jail {

namespace {

using ordered_json = nlohmann::ordered_json;

api::Reply fault(const std::string& message) { return fault_reply(400, message); }

ordered_json bucket_json(const api::TokenBucket& bucket) {
  ordered_json out = {{"size", bucket.size}, {"refill_time", bucket.refill_time_ms}};
  if (bucket.one_time_burst != 0) out["one_time_burst"] = bucket.one_time_burst;
  return out;
}

ordered_json limiter_json(const api::RateLimiter& limiter) { return rate_limiter_json(limiter); }

bool limits_anything(const api::RateLimiter& limiter) { return !limiter_json(limiter).empty(); }

// Firecracker puts the root device on the command line when the client did not.
std::string boot_args_with_root(const std::string& args, const std::vector<api::PutDrive>& drives) {
  for (const api::PutDrive& drive : drives) {
    if (!drive.is_root_device) continue;
    if (args.find("root=") != std::string::npos) return args;
    return args + (args.empty() ? "" : " ") + "root=/dev/vda " + (drive.is_read_only ? "ro" : "rw");
  }
  return args;
}

// PUT /vsock's uds_path: Firecracker's examples write "./v.sock"; here it is the name v.sock in
// the operator's vsock directory (as api.image_dirs' names take one leading "./"). Anything but a
// plain name is refused by vm.json's own rule.
Result<std::string> vsock_uds_name(std::string_view uds_path) {
  if (uds_path.starts_with("./")) uds_path.remove_prefix(2);
  if (Status s = check_vsock_uds_name(uds_path); !s.ok()) return s.error().wrap("uds_path");
  return std::string(uds_path);
}

ordered_json vsock_json(const api::PutVsock& vsock) {
  ordered_json out = ordered_json::object();
  if (!vsock.vsock_id.empty()) out["vsock_id"] = vsock.vsock_id;
  out["guest_cid"] = vsock.guest_cid;
  out["uds_path"] = vsock.uds_path;
  return out;
}

}  // namespace

ordered_json rate_limiter_json(const api::RateLimiter& limiter) {
  ordered_json out = ordered_json::object();
  if (limiter.bandwidth && limiter.bandwidth->size != 0) out["bandwidth"] = bucket_json(*limiter.bandwidth);
  if (limiter.ops && limiter.ops->size != 0) out["ops"] = bucket_json(*limiter.ops);
  return out;
}

std::optional<size_t> PendingVm::disk_index(std::string_view drive_id) const {
  // The order vm_json() writes them in.
  size_t index = 0;
  for (const api::PutDrive& drive : drives_) {
    if (!drive.is_root_device) continue;
    if (drive.drive_id == drive_id) return index;
    ++index;
  }
  for (const api::PutDrive& drive : drives_) {
    if (drive.is_root_device) continue;
    if (drive.drive_id == drive_id) return index;
    ++index;
  }
  return std::nullopt;
}

const std::string& PendingVm::vsock_id() const {
  static const std::string kNone;
  return vsock_ ? vsock_->vsock_id : kNone;
}

std::string PendingVm::vm_json() const {
  ordered_json vm = ordered_json::object();
  if (have_boot_source_) {
    vm["kernel"] = boot_source_.kernel_image_path;
    if (!boot_source_.initrd_path.empty()) vm["initrd"] = boot_source_.initrd_path;
    const std::string args = boot_args_with_root(boot_source_.boot_args, drives_);
    if (!args.empty()) vm["cmdline"] = args;
  }
  vm["memory_mib"] = machine_.mem_size_mib;
  vm["vcpus"] = machine_.vcpu_count;
  if (!machine_.cpu_template.empty()) vm["cpu_template"] = machine_.cpu_template;
  // The root device is the guest's first disk (/dev/vda), as in Firecracker.
  std::vector<const api::PutDrive*> ordered;
  for (const api::PutDrive& drive : drives_) if (drive.is_root_device) ordered.push_back(&drive);
  for (const api::PutDrive& drive : drives_) if (!drive.is_root_device) ordered.push_back(&drive);
  if (!ordered.empty()) {
    ordered_json disks = ordered_json::array();
    for (const api::PutDrive* drive : ordered) {
      ordered_json disk = {{"path", drive->path_on_host}};
      if (!drive->format.empty()) disk["format"] = drive->format;
      if (drive->is_read_only) disk["read_only"] = true;
      if (limits_anything(drive->rate_limiter)) disk["rate_limiter"] = limiter_json(drive->rate_limiter);
      disks.push_back(std::move(disk));
    }
    vm["disks"] = std::move(disks);
  }
  if (!nets_.empty()) {
    ordered_json nets = ordered_json::array();
    for (const api::PutNetworkInterface& nic : nets_) {
      ordered_json net = {{"id", nic.iface_id}};
      if (!nic.guest_mac.empty()) net["mac"] = nic.guest_mac;
      ordered_json limiter = ordered_json::object();
      if (limits_anything(nic.rx_rate_limiter)) limiter["rx"] = limiter_json(nic.rx_rate_limiter);
      if (limits_anything(nic.tx_rate_limiter)) limiter["tx"] = limiter_json(nic.tx_rate_limiter);
      if (!limiter.empty()) net["rate_limiter"] = std::move(limiter);
      nets.push_back(std::move(net));
    }
    vm["nets"] = std::move(nets);
  }
  if (entropy_) vm["rng"] = true;
  // vm.json's own fields: the host config's "vsock" and "tpm" are then required by
  // apply_operator_settings, exactly as for a tenant's vm.json.
  if (vsock_) vm["vsock"] = {{"guest_cid", vsock_->guest_cid}, {"uds_path", vsock_->uds_path}};
  if (tpm_) vm["tpm"] = true;
  return vm.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<LaunchConfig> PendingVm::assemble() const {
  if (!have_boot_source_) return Error("no boot source: PUT /boot-source first");
  auto launch = parse_launch_config(vm_json());
  if (!launch.ok()) return launch.error();
  BULWARK_TRY(apply_operator_settings(host_, choices_, *launch));
  return launch;
}

Status PendingVm::check_with(const PendingVm& trial) const {
  // Without a kernel yet the rest is checked with a stand-in path (never opened here).
  PendingVm checked = trial;
  if (!checked.have_boot_source_) {
    checked.have_boot_source_ = true;
    checked.boot_source_.kernel_image_path = "/boot-source-not-set-yet";
  }
  auto launch = checked.assemble();
  if (!launch.ok()) return launch.error();
  return ok_status();
}

api::Reply PendingVm::apply(const api::Command& command) {
  PendingVm trial = *this;
  const std::vector<std::string>& dirs = host_.api.image_dirs;
  if (const auto* boot = std::get_if<api::PutBootSource>(&command)) {
    trial.boot_source_ = *boot;
    auto kernel = resolve_in_operator_dirs(dirs, boot->kernel_image_path, "kernel_image_path", "api.image_dirs");
    if (!kernel.ok()) return fault(kernel.error().message());
    trial.boot_source_.kernel_image_path = *kernel;
    if (!boot->initrd_path.empty()) {
      auto initrd = resolve_in_operator_dirs(dirs, boot->initrd_path, "initrd_path", "api.image_dirs");
      if (!initrd.ok()) return fault(initrd.error().message());
      trial.boot_source_.initrd_path = *initrd;
    }
    trial.have_boot_source_ = true;
  } else if (const auto* machine = std::get_if<api::PutMachineConfig>(&command)) {
    if (machine->smt) return fault("smt: Bulwark gives guests no SMT topology; only false is accepted");
    if (machine->track_dirty_pages) return fault("track_dirty_pages: not supported yet (snapshots come later)");
    trial.machine_ = *machine;
  } else if (const auto* drive = std::get_if<api::PutDrive>(&command)) {
    api::PutDrive resolved = *drive;
    auto path = resolve_in_operator_dirs(dirs, drive->path_on_host, "path_on_host", "api.image_dirs");
    if (!path.ok()) return fault(path.error().message());
    resolved.path_on_host = *path;
    bool replaced = false;
    for (api::PutDrive& existing : trial.drives_) {
      if (existing.drive_id == drive->drive_id) {
        existing = resolved;
        replaced = true;
      } else if (resolved.is_root_device && existing.is_root_device) {
        return fault("is_root_device: drive " + existing.drive_id + " is already the root device");
      }
    }
    if (!replaced) trial.drives_.push_back(resolved);
  } else if (const auto* nic = std::get_if<api::PutNetworkInterface>(&command)) {
    bool replaced = false;
    for (api::PutNetworkInterface& existing : trial.nets_) {
      if (existing.iface_id == nic->iface_id) {
        existing = *nic;
        replaced = true;
      }
    }
    if (!replaced) trial.nets_.push_back(*nic);
  } else if (const auto* entropy = std::get_if<api::PutEntropy>(&command)) {
    if (limits_anything(entropy->rate_limiter)) {
      return fault("rate_limiter: bulwark-dev-rng has no rate limiter; omit it");
    }
    trial.entropy_ = true;
  } else if (const auto* vsock = std::get_if<api::PutVsock>(&command)) {
    // One per VM, as in Firecracker: a second PUT replaces the first.
    auto name = vsock_uds_name(vsock->uds_path);
    if (!name.ok()) return fault(name.error().message());
    trial.vsock_ = *vsock;
    trial.vsock_->uds_path = *name;
  } else if (const auto* tpm = std::get_if<api::PutTpm>(&command)) {
    trial.tpm_ = tpm->enabled;
  } else {
    return fault_reply(500, "not a pre-boot command");
  }
  if (Status s = check_with(trial); !s.ok()) return fault(s.error().message());
  boot_source_ = trial.boot_source_;
  have_boot_source_ = trial.have_boot_source_;
  machine_ = trial.machine_;
  drives_ = std::move(trial.drives_);
  nets_ = std::move(trial.nets_);
  entropy_ = trial.entropy_;
  vsock_ = std::move(trial.vsock_);
  tpm_ = trial.tpm_;
  return no_content_reply();
}

namespace {

ordered_json machine_json(const api::PutMachineConfig& machine) {
  ordered_json body = {{"vcpu_count", machine.vcpu_count},
                       {"mem_size_mib", machine.mem_size_mib},
                       {"smt", false},
                       {"track_dirty_pages", false}};
  if (!machine.cpu_template.empty()) body["cpu_template"] = machine.cpu_template;
  return body;
}

}  // namespace

api::Reply PendingVm::machine_config() const { return json_reply(machine_json(machine_)); }

api::Reply PendingVm::vm_config() const {
  ordered_json body = ordered_json::object();
  if (have_boot_source_) {
    ordered_json boot = {{"kernel_image_path", boot_source_.kernel_image_path}};
    if (!boot_source_.initrd_path.empty()) boot["initrd_path"] = boot_source_.initrd_path;
    if (!boot_source_.boot_args.empty()) boot["boot_args"] = boot_source_.boot_args;
    body["boot-source"] = std::move(boot);
  }
  body["machine-config"] = machine_json(machine_);
  ordered_json drives = ordered_json::array();
  for (const api::PutDrive& drive : drives_) {
    ordered_json d = {{"drive_id", drive.drive_id},
                      {"path_on_host", drive.path_on_host},
                      {"is_root_device", drive.is_root_device},
                      {"is_read_only", drive.is_read_only}};
    if (!drive.format.empty()) d["format"] = drive.format;
    if (limits_anything(drive.rate_limiter)) d["rate_limiter"] = limiter_json(drive.rate_limiter);
    drives.push_back(std::move(d));
  }
  body["drives"] = std::move(drives);
  ordered_json nets = ordered_json::array();
  for (const api::PutNetworkInterface& nic : nets_) {
    ordered_json n = {{"iface_id", nic.iface_id}};
    if (!nic.guest_mac.empty()) n["guest_mac"] = nic.guest_mac;
    if (!nic.host_dev_name.empty()) n["host_dev_name"] = nic.host_dev_name;
    nets.push_back(std::move(n));
  }
  body["network-interfaces"] = std::move(nets);
  if (entropy_) body["entropy"] = ordered_json::object();
  if (vsock_) body["vsock"] = vsock_json(*vsock_);
  body["tpm"] = {{"enabled", tpm_}};
  return json_reply(body);
}

}  // namespace bulwark::jail

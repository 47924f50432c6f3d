#include "jailer/svirt/vm_svirt.h"

#include "bulwark/common/log.h"

namespace bulwark::jailer {

namespace {

std::filesystem::path host_run_dir(const SvirtConfig& config) {
  if (!config.run_dir.empty()) return config.run_dir;
  return config.mcs.run_dir.parent_path();
}

}  // namespace

Result<VmSvirt> VmSvirt::prepare(const SvirtConfig& config, std::string_view vm_id) {
  auto prepared = prepare(config, vm_id, host_selinux_enabled());
  if (prepared && !prepared->plan().warning.empty()) log::warn(prepared->plan().warning);
  return prepared;
}

Result<VmSvirt> VmSvirt::prepare(const SvirtConfig& config, std::string_view vm_id,
                                 bool selinux_enabled) {
  BULWARK_TRY(validate_svirt_types(config.types));
  auto plan = plan_svirt(config.mode, selinux_enabled);
  if (!plan) return plan.error();
  std::optional<McsReservation> reservation;
  if (plan->allocate_pair) {
    auto allocated = allocate_mcs_pair(config.mcs, vm_id);
    if (!allocated) return allocated.error();
    reservation.emplace(std::move(*allocated));
  }
  return VmSvirt(std::move(*plan), config.types, std::move(reservation), std::string(vm_id), config);
}

VmSvirt::VmSvirt(SvirtPlan plan, SvirtTypes types, std::optional<McsReservation> reservation,
                 std::string vm_id, const SvirtConfig& config)
    : plan_(std::move(plan)),
      types_(std::move(types)),
      reservation_(std::move(reservation)),
      vm_id_(vm_id),
      run_dir_(host_run_dir(config)),
      shared_image_dirs_(config.shared_image_dirs),
      running_(config.running),
      labels_(run_dir_, std::move(vm_id),
              config.selinux_xattrs ? *config.selinux_xattrs : system_fd_xattrs(), config.running) {}

std::optional<McsPair> VmSvirt::pair() const {
  if (!reservation_) return std::nullopt;
  return reservation_->pair();
}

Result<std::string> VmSvirt::exec_context(std::string_view domain) const {
  if (!reservation_) return std::string();
  BULWARK_TRY(validate_selinux_identifier("process domain", domain));
  return process_context(types_, domain, reservation_->pair());
}

Status VmSvirt::enter_exec_context(const std::string& context) const {
  if (!plan_.set_exec_context) return ok_status();
  return set_exec_context_for_next_exec(context);
}

std::string VmSvirt::socket_context() const {
  if (!reservation_ || !plan_.set_socket_context) return std::string();
  return vm_socket_context(types_, reservation_->pair());
}

JailCreateLabel VmSvirt::jail_create_label() const {
  return plan_jail_create_label(types_, pair(), plan_.selinux_enabled);
}

void VmSvirt::set_label_record_hook(LabelMemory::RecordHook hook) {
  labels_.set_record_hook(std::move(hook));
}

Result<LabelOutcome> VmSvirt::label(int fd, const std::string& name, const std::string& context,
                                    LabelAccess access) {
  if (!reservation_) return LabelOutcome::kNotRequested;
  auto outcome = labels_.acquire(fd, name, context, access);
  if (outcome && *outcome == LabelOutcome::kFilesystemRefused)
    log::warn("sVirt: the filesystem of " + name + " keeps no extended attributes (label and "
              "label memory); left unlabelled");
  return outcome;
}

Result<LabelOutcome> VmSvirt::label_disk(int fd, const std::string& name, bool read_only) {
  if (!reservation_) return LabelOutcome::kNotRequested;
  const McsPair pair = reservation_->pair();
  if (!read_only) return label(fd, name, image_file_context(types_, pair), LabelAccess::kReadWrite);
  // By the path the opened file resolves to now (not the tenant's spelling of it).
  if (path_is_below_any(resolved_fd_path(fd), shared_image_dirs_))
    return label(fd, name, content_file_context(types_), LabelAccess::kReadOnlyShared);
  return label(fd, name, private_content_file_context(types_, pair), LabelAccess::kReadOnly);
}

Result<LabelOutcome> VmSvirt::label_boot_input(int fd, const std::string& name) {
  return label(fd, name, content_file_context(types_), LabelAccess::kReadOnlyShared);
}

std::vector<std::string> VmSvirt::label_holders(int fd) const {
  return label_record_holders(fd, vm_id_, run_dir_, running_);
}

}  // namespace bulwark::jailer

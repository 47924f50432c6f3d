#include "jailer/svirt/vm_svirt.h"

#include "bulwark/common/log.h"
#include "jailer/svirt/jail_labels.h"

namespace bulwark::jailer {

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
  return VmSvirt(std::move(*plan), config.types, std::move(reservation));
}

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

Result<LabelOutcome> VmSvirt::warn_if_refused(Result<LabelOutcome> outcome, const std::string& name) {
  if (outcome && *outcome == LabelOutcome::kFilesystemRefused)
    log::warn("sVirt: the filesystem of " + name + " takes no security.selinux label; left unlabelled");
  return outcome;
}

Result<LabelOutcome> VmSvirt::label(int fd, const std::string& name, const std::string& context) {
  if (!reservation_) return LabelOutcome::kNotRequested;
  return warn_if_refused(labels_.apply(fd, name, context), name);
}

Result<LabelOutcome> VmSvirt::label_writable(int fd, const std::string& name) {
  if (!reservation_) return LabelOutcome::kNotRequested;
  return label(fd, name, image_file_context(types_, reservation_->pair()));
}

Result<LabelOutcome> VmSvirt::label_read_only(int fd, const std::string& name) {
  return label(fd, name, content_file_context(types_));
}

Status VmSvirt::label_jail(const std::filesystem::path& instance_dir,
                          const std::filesystem::path& root_dir,
                          std::span<const std::string> generated_jail_paths) {
  if (!reservation_) return ok_status();
  auto planned =
      plan_jail_labels(types_, reservation_->pair(), instance_dir, root_dir, generated_jail_paths);
  if (!planned.ok()) return planned.error().wrap("sVirt");
  for (const PlannedLabel& planned_label : *planned) {
    // The launcher made these itself (root-owned, below its base dir): opened with O_NOFOLLOW.
    auto labelled = warn_if_refused(labels_.apply_created(planned_label.path, planned_label.context),
                                    planned_label.path.string());
    if (!labelled.ok()) return labelled.error();
  }
  return ok_status();
}

}  // namespace bulwark::jailer

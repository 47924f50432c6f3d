#include "jailer/api/api_process.h"

#include <signal.h>
#include <sys/socket.h>

#include <cerrno>
#include <vector>

#include "bulwark/common/log.h"
#include "jailer/device_spec.h"
#include "jailer/svirt/socket_create_context.h"

namespace bulwark::jail {

namespace {

constexpr uint64_t kApiMemoryBytes = uint64_t{64} << 20;
constexpr uint64_t kApiPids = 4;
constexpr uint64_t kApiOpenFiles = 64;  // 16 clients, the two sockets, stdio, the policy files

}  // namespace

JailSpec build_api_spec(const ApiProcessSettings& settings, int api_end) {
  JailSpec spec = build_helper_process_spec(settings.jail, *settings.options, "api", settings.binary, "bulwark-api");
  spec.argv = {"bulwark-api", "--seccomp", settings.options->seccomp_record ? "record" : "enforce",
               "--seccomp-policy-dir", kPolicyJailPath};
  spec.limits.memory_bytes = kApiMemoryBytes;
  spec.limits.pids_max = kApiPids;
  spec.rlimits.nofile = kApiOpenFiles;
  spec.rlimits.nproc = kApiPids;
  spec.rlimits.fsize = 0;  // it writes no files
  const int output = settings.stderr_fd >= 0 ? settings.stderr_fd : 2;
  spec.fds = {{settings.null_fd, 0}, {output, 1}, {output, 2}, {settings.listen_fd, kApiListenFd},
              {api_end, kApiLauncherFd}};
  if (!settings.exec_context.empty()) spec.selinux_exec_context = settings.exec_context;
  spec.create_label = settings.create_label;
  return spec;
}

Result<ApiProcess> ApiProcess::start(ApiProcessSettings settings) {
  ApiProcess process;
  process.settings_ = std::move(settings);
  process.restarts_left_ = process.settings_.restarts_allowed;
  BULWARK_TRY(process.launch());
  return process;
}

Status ApiProcess::launch() {
  auto channel = jailer::make_labelled_seqpacket_pair(settings_.socket_context);
  if (!channel.ok()) return channel.error().wrap("jail step api");
  JailSpec spec = build_api_spec(settings_, channel->second.get());
  auto jailed = run_jailed(spec);
  if (!jailed.ok()) return jailed.error().wrap("jail step api");
  jail_ = std::move(*jailed);
  channel_ = std::move(channel->first);
  log::info("VM " + settings_.jail.id + ": API process running as pid " + std::to_string(jail_->pid()));
  return ok_status();
}

std::optional<api::Command> ApiProcess::receive() {
  if (!channel_.valid()) return std::nullopt;
  std::vector<uint8_t> buffer(api::kMaxMessageBytes + 1);
  const ssize_t n = ::recv(channel_.get(), buffer.data(), buffer.size(), MSG_DONTWAIT | MSG_TRUNC);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return std::nullopt;
  if (n <= 0) {
    handle_end();
    return std::nullopt;
  }
  if (static_cast<size_t>(n) > api::kMaxMessageBytes) {
    log::warn("VM " + settings_.jail.id + ": API process sent a " + std::to_string(n) + "-byte command; refused");
    reply({400, api::Reply::Body::kFault, "refused by the launcher: command too long"});
    return std::nullopt;
  }
  auto command = api::decode_command(std::span<const uint8_t>(buffer.data(), static_cast<size_t>(n)));
  if (!command.ok()) {
    log::warn("VM " + settings_.jail.id + ": API process sent a command the launcher refuses: " +
              command.error().message());
    reply({400, api::Reply::Body::kFault, "refused by the launcher: " + command.error().message()});
    return std::nullopt;
  }
  return std::move(*command);
}

void ApiProcess::reply(const api::Reply& reply) {
  if (!channel_.valid()) return;
  const std::vector<uint8_t> bytes = api::encode_reply(reply);
  if (::send(channel_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL) < 0) {
    // The process is going; its EOF is handled at the next receive().
    log::warn("VM " + settings_.jail.id + ": reply to the API process failed (errno " + std::to_string(errno) + ")");
  }
}

void ApiProcess::handle_end() {
  channel_.reset();
  if (!jail_) return;
  const ProcessEnd end = jail_->stop(std::chrono::seconds(2));
  if (Status s = jail_->teardown(); !s.ok()) log::error("teardown of the API process: " + s.error().message());
  jail_.reset();
  const std::string what = "VM " + settings_.jail.id + ": API process " + describe_process_end(end);
  if (!end.exited && end.signal == SIGSYS) {
    log::error(what + "; not restarted (a process killed by its policy is never restarted); the VM runs on "
               "without its API");
    return;
  }
  if (restarts_left_ <= 0) {
    log::error(what + "; restarted before, so not again; the VM runs on without its API");
    return;
  }
  --restarts_left_;
  log::warn(what + "; restarting it");
  if (Status s = launch(); !s.ok()) {
    log::error("VM " + settings_.jail.id + ": API process restart failed: " + s.error().message());
  }
}

void ApiProcess::stop(std::chrono::milliseconds grace) {
  channel_.reset();
  if (!jail_) return;
  const ProcessEnd end = jail_->stop(grace);
  if (!(end.exited && end.exit_code == 0)) log::warn("VM " + settings_.jail.id + ": API process " + describe_process_end(end));
  if (Status s = jail_->teardown(); !s.ok()) log::error("teardown of the API process: " + s.error().message());
  jail_.reset();
}

}  // namespace bulwark::jail

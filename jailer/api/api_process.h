// bulwark-api, the VM's API process, as the launcher runs it: jailed like a device process
// (its own jail <base>/<vm id>.api, the VM's uid/gid, an empty network namespace, no /dev nodes,
// its own seccomp policy api.policy and SELinux domain bulwark_api_t), with
//   fd 3  the listening API socket (api_socket.h), on which it accepts the operator's clients;
//   fd 4  a SOCK_SEQPACKET socket to the launcher: one command (api/command/command.h) per
//         datagram in, one reply per command out, in order.
// bulwark-api may be compromised (it parses the clients' bytes): the launcher decodes every
// datagram as hostile and answers a refused one with a 400 fault, so the two stay in step.
// A bulwark-api that ends (crash, kill) is started again once; one killed by seccomp (SIGSYS) is
// never restarted (a compromised process trying what its policy forbids), nor one that ran out
// of restarts: the VM runs on without its API and the launcher says so.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "api/command/command.h"
#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "jailer/jail.h"
#include "jailer/jail_config.h"
#include "jailer/monitor_spec.h"

namespace bulwark::jail {

inline constexpr int kApiListenFd = 3;
inline constexpr const char* kApiSelinuxDomain = "bulwark_api_t";
inline constexpr int kApiLauncherFd = 4;

struct ApiProcessSettings {
  std::string binary;  // bulwark-api on the host
  JailSettings jail;   // the VM's: id, uid/gid, base dir, cgroup parent, CPU limits
  const MonitorLaunchOptions* options = nullptr;  // libraries, policy dir, record hook
  int listen_fd = -1;  // the launcher keeps it (a restarted process gets it again)
  std::string exec_context;    // SELinux exec context ("" = none)
  std::string socket_context;  // the launcher<->api socketpair's context ("" = none)
  jailer::JailCreateLabel create_label;  // the jail's files' label
  int null_fd = -1;    // its stdin
  int stderr_fd = -1;  // its stdout and stderr (log_relay.h's channel); -1: the launcher's stderr
  int restarts_allowed = 1;
};

// bulwark-api's jail (`bulwark policy show` lists it too): `api_end` is its end of the command
// channel, passed as fd 4.
JailSpec build_api_spec(const ApiProcessSettings& settings, int api_end);

class ApiProcess {
 public:
  static Result<ApiProcess> start(ApiProcessSettings settings);
  ApiProcess(ApiProcess&&) noexcept = default;
  ApiProcess& operator=(ApiProcess&&) noexcept = default;
  ~ApiProcess() { stop(std::chrono::milliseconds(0)); }

  // The launcher's end of the command channel, for poll(); -1 once the API is gone for good.
  int channel_fd() const { return channel_.get(); }
  bool running() const { return jail_ != nullptr; }

  // One command from the channel. nullopt: nothing to do now (no datagram waiting, or the
  // process ended and was restarted or given up on: see running()). A datagram decode_command
  // refuses is answered here (400) and logged, and nullopt returned.
  std::optional<api::Command> receive();
  // The reply to the command receive() returned last.
  void reply(const api::Reply& reply);
  // SIGTERM, then SIGKILL after `grace`; removes its jail. Idempotent.
  void stop(std::chrono::milliseconds grace);

 private:
  ApiProcess() = default;
  Status launch();
  // The channel reached EOF or failed: reap, decide on a restart.
  void handle_end();

  ApiProcessSettings settings_;
  std::unique_ptr<RunningJail> jail_;
  UniqueFd channel_;
  int restarts_left_ = 0;
};

}  // namespace bulwark::jail

// A VM's vsock directory on the host (issue 17): <vsock.dir>/<vm id>/, made by the launcher for
// the VM's bulwark-dev-vsock, from the operator's host config "vsock" (where) and the tenant's
// "vsock" (the socket's name, a plain name checked by vsock_config.h).
//
//   <vsock.dir>/            the operator's; made (root, 0755) if missing, never removed
//   <vsock.dir>/<vm id>/    root:<VM gid>, 02750: the VM's device (its uid and gid) may search
//                           and list it, nothing of the VM may create or remove anything in it
//                           (it is also bound read-only into the device's jail at /vsock). The
//                           setgid bit gives what host services make there the VM's group.
//     <uds_path>            the listening socket host clients connect to (root, 0600), made
//                           here and passed to the device as --listen-fd; the device never binds
//     <uds_path>_<port>     made by the operator's host services that accept the guest's
//                           connections to host port <port>: they bind it as root and make it
//                           group-writable (the group is the VM's, from the setgid directory),
//                           which lets this VM's device, and no other VM's, connect to it
//
// Removed with everything in it when the VM's devices stop, and by the next launch of the same
// VM id after a launcher that died (stale_vm.cc); a directory left by a dead launcher is
// replaced here too (the VM id is held, so nothing else uses it).
#pragma once

#include <string>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "jailer/jail_config.h"

namespace bulwark::jail {

class VmVsockDir {
 public:
  // `socket_context`: the context the listening socket is created under (the monitor's, as the
  // monitor<->device sockets; "" under selinux: off).
  static Result<VmVsockDir> create(const LaunchConfig& config, const std::string& socket_context);

  VmVsockDir(VmVsockDir&& other) noexcept;
  VmVsockDir& operator=(VmVsockDir&& other) noexcept;
  VmVsockDir(const VmVsockDir&) = delete;
  VmVsockDir& operator=(const VmVsockDir&) = delete;
  ~VmVsockDir() { remove(); }

  const std::string& dir() const { return dir_; }
  const std::string& socket_path() const { return socket_path_; }
  int listen_fd() const { return listener_.get(); }
  // Closes the launcher's copy of the listener (the device holds its own once started).
  void close_listener() { listener_.reset(); }
  // Removes <vsock.dir>/<vm id> and everything in it; logs a failure. Idempotent.
  void remove();

 private:
  VmVsockDir() = default;
  std::string dir_;
  std::string socket_path_;
  UniqueFd listener_;
};

}  // namespace bulwark::jail

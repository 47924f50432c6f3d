// The VM's vhost-user devices, connected before the guest runs: each configured socket path is
// connected to (or the inherited socket fd adopted) and the frontend's handshake done, so the
// vCPU threads later need no socket or open calls.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "monitor/config/vm_config.h"
#include "monitor/kvm/guest_memory.h"
#include "monitor/vhost_user/shared_guest_ram.h"
#include "monitor/vhost_user/vhost_user_frontend.h"

namespace bulwark::vmm {

// Guest RAM as the frontend shares it: the memfd and each RAM range at its offset in it.
vhost_user::SharedGuestRam shared_ram_of(const kvm::GuestMemory& memory);

// "vhost-user-blk 0 (socket /run/blk.sock)" / "vhost-user-rng 1 (fd 4)"
std::string device_display_name(const config::DeviceConfig& device, size_t index);

// A connected unix stream socket for the device: connect() to its path (retrying briefly while
// the device process starts listening), or the inherited fd after checking it is open.
Result<UniqueFd> open_device_socket(const config::DeviceConfig& device);

// Every configured device's socket, in order (a path nobody listens on, an fd that is not
// open: configuration errors). The first failure names its device.
Result<std::vector<UniqueFd>> open_device_sockets(const std::vector<config::DeviceConfig>& devices);

// The handshake with every device on its socket. A device whose process does not answer within
// the reply timeout (5 s), hangs up or breaks the protocol fails alone: logged, and presented
// to the guest as a device that refuses to start, so the VM starts without it and its PCI
// slot stays where the configuration put it. Only an unknown device type is an error.
// `replacement_possible`: a device whose process dies later waits for a replacement
// (FrontendOptions) instead of failing at once.
Result<std::vector<std::unique_ptr<vhost_user::VhostUserFrontend>>> connect_frontends(
    const std::vector<config::DeviceConfig>& devices, std::vector<UniqueFd> sockets,
    const kvm::GuestMemory& memory, bool replacement_possible);

}  // namespace bulwark::vmm

// The TAP devices of a VM's NICs, made by the launcher (root) and handed to bulwark-dev-net as
// open queue fds: the device process never opens /dev/net/tun, never sees a network namespace
// and cannot rename, re-attach or re-own its TAP (its policy refuses TUNSETIFF; tests prove it).
//
// Where a TAP goes is the operator's alone (host config "net": the network namespace, the bridge,
// the name prefix); the tenant's VM config chooses only queue pairs and MTU within the operator's
// ceilings. A TAP is created in its namespace (a thread that setns()es there, so it never exists
// in the launcher's namespace first), exclusively (IFF_TUN_EXCL: a link that already has the name
// is an error, never attached to), multi-queue with a vnet header, owned by the VM's uid/gid,
// NOT persistent: it disappears when the last queue fd closes (the device process's and the
// launcher's), so a VM's TAP cannot outlive its processes. Teardown and the sweep still remove it
// by name, but only when the link of that name has the ifindex recorded at creation.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"

namespace bulwark::jail {

inline constexpr size_t kMaxTapNameBytes = 15;  // IFNAMSIZ - 1
inline constexpr uint16_t kMaxTapQueuePairs = 8;

struct TapRequest {
  std::string netns;   // a name in /run/netns (the operator's); "" = the launcher's own namespace
  std::string name;    // 1..15 bytes of [A-Za-z0-9_.-]
  uid_t uid = 0;       // TUNSETOWNER / TUNSETGROUP: the VM's ids
  gid_t gid = 0;
  uint16_t queue_pairs = 1;  // 1..8: one queue fd each (IFF_MULTI_QUEUE)
  uint32_t mtu = 1500;       // 68..65535, set on the link
  std::string bridge;  // "" = none; else enslaved to this bridge in the same namespace
};

struct Tap {
  std::string netns;
  std::string name;
  int ifindex = 0;
  std::vector<UniqueFd> queues;  // O_RDWR|O_CLOEXEC|O_NONBLOCK, IFF_VNET_HDR, vnet hdr size 12
};

// Creates the TAP, sets owner, group, vnet header size 12 and MTU, enslaves it to the bridge when
// one is named, and sets it up (so the first frames a guest sends are not dropped before a qdisc
// exists). Errors name the step and the TAP: `TAP "bw200000n0" in netns "vmnet": bridge "br0":
// no such device`. On error nothing is left (the fds close; a non-persistent TAP goes with them).
Result<Tap> create_tap(const TapRequest& request);

// Deletes the link `name` in `netns` when it exists and its ifindex is `ifindex` (RTM_DELLINK).
// Returns true when a link was deleted, false when there was none of that name or it is another
// link now (then it is left alone). A namespace that no longer exists is "no link".
Result<bool> remove_tap(const std::string& netns, const std::string& name, int ifindex);

}  // namespace bulwark::jail

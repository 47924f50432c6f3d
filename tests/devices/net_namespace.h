// A network namespace a test creates for itself (`ip netns add`, a unique name, deleted with
// everything in it when the object goes), with a multi-queue vnet_hdr TAP inside it. The TAP's
// queues are opened as a launcher would (/dev/net/tun, TUNSETIFF from inside the namespace) and
// sockets are made inside it, so test traffic never touches the host's own network.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"

namespace bulwark::test {

class NetNamespace {
 public:
  // Creates namespace bwnet-<pid>-<n> with TAP `tap0` (mode tap, vnet_hdr, multi_queue), up,
  // with `host_address` (e.g. "10.99.0.1/24") and MAC `host_mac` on it.
  static Result<NetNamespace> create(const std::string& host_address, const std::string& host_mac);
  NetNamespace(NetNamespace&& other) noexcept : name_(std::move(other.name_)) { other.name_.clear(); }
  NetNamespace& operator=(NetNamespace&&) = delete;
  ~NetNamespace();

  const std::string& name() const { return name_; }
  static constexpr const char* kTap = "tap0";

  // Runs `ip -n NAME args...`; Error with its output when it fails.
  Status ip(const std::vector<std::string>& args) const;
  // Runs `fn` on a thread that has joined the namespace (sockets and TAP queues made there
  // belong to it).
  Status run_inside(const std::function<Status()>& fn) const;
  // Opens one queue of the TAP (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE).
  Result<UniqueFd> open_tap_queue() const;
  // An AF_PACKET socket inside the namespace bound to the TAP (ETH_P_ALL), with PACKET_VNET_HDR:
  // every frame read or written carries a 10-byte virtio_net_hdr (no num_buffers) in front.
  Result<UniqueFd> packet_socket() const;
  // A listening TCP socket inside the namespace on `address:port`.
  Result<UniqueFd> tcp_listener(const std::string& address, uint16_t port) const;
  // A UDP socket inside the namespace bound to `address:port` (port 0: any).
  Result<UniqueFd> udp_socket(const std::string& address, uint16_t port) const;

 private:
  explicit NetNamespace(std::string name) : name_(std::move(name)) {}
  std::string name_;
};

// Runs a program to completion, returning its exit status and output (both streams).
Result<std::string> run_command(const std::vector<std::string>& argv);

}  // namespace bulwark::test

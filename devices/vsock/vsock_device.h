// virtio-vsock (virtio 1.2 section 5.10) as a vhost-user device process, with Firecracker's
// hybrid-vsock host side. Queues: rx 0 (device to guest), tx 1 (guest to device), event 2
// (only TRANSPORT_RESET: sent by a process that replaces a dead one, whose connections died
// with it, so the guest drops every connection at once instead of waiting on each). Stream
// sockets only.
//
// Whose input: the guest's (tenant) tx packets, checked by parse_guest_packet and routed by
// ConnectionTable, and the bytes of host clients of `<uds_path>` (processes the operator lets
// at the VM's vsock socket), checked by parse_connect_line. Neither side can stall the other
// connections: every host socket is non-blocking, guest bytes held for a host peer that does
// not read are capped by our buf_alloc (the guest's credit runs out for that connection
// only), and host bytes are read only as far as the guest's credit reaches.
//
// Host to guest: a client connects to `<uds_path>`, writes `CONNECT <port>\n` within the
// connect timeout, we send REQUEST; on RESPONSE it gets `OK <local_port>\n`, on RST (nobody
// listening in the guest) or timeout it is closed. Guest to host: a REQUEST to host port P
// connects to `<uds_path>_<P>`; nobody listening gets the guest an RST.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/common/unique_fd.h"
#include "devices/backend/throttle_timer.h"
#include "devices/backend/virtio_device.h"
#include "devices/vsock/connect_line.h"
#include "devices/vsock/connection_table.h"
#include "devices/vsock/event_log.h"

namespace bulwark::vsock {

struct VsockDeviceOptions {
  uint64_t guest_cid = 3;
  // `<uds_path>_<port>` is where guest connections to host port `port` go (launcher-given).
  std::string uds_path;
  // Connections of this VM at once, host clients still writing their CONNECT line included
  // (the operator's ceiling).
  size_t max_connections = 1024;
  uint32_t buf_alloc = 256 * 1024;  // guest bytes held per connection for a slow host peer
  // A host client must complete its CONNECT line, and the guest answer our REQUEST, within this.
  std::chrono::milliseconds connect_timeout{2000};
  // After we shut a connection down (host peer gone), the guest must RST within this.
  std::chrono::milliseconds close_timeout{2000};
};

class VsockDevice : public backend::VirtioDevice {
 public:
  static constexpr uint32_t kDeviceType = 19;
  static constexpr uint16_t kRxQueue = 0, kTxQueue = 1, kEventQueue = 2;
  static constexpr uint16_t kMaxQueueSize = 1024;

  // `listener`: the listening socket of `<uds_path>`. Makes the timerfd (start-up only: the
  // seccomp policy forbids timerfd_create later).
  static Result<std::unique_ptr<VsockDevice>> create(VsockDeviceOptions options, UniqueFd listener);

  uint32_t device_type() const override { return kDeviceType; }
  uint64_t device_features() const override { return 0; }  // stream only (no SEQPACKET)
  uint16_t num_queues() const override { return 3; }
  uint16_t max_queue_size() const override { return kMaxQueueSize; }
  std::span<const uint8_t> config_space() const override { return config_; }
  Result<uint32_t> process_queue(uint16_t index, virtio::SplitQueue& queue, uint32_t budget) override;
  Status attach_events(backend::DeviceEvents& events) override;
  void on_device_event(uint32_t token) override;
  void queue_running(uint16_t index, bool running) override;
  void queue_stopping(uint16_t index, virtio::SplitQueue& queue) override;
  void predecessor_served() override;

  const EventLog& events() const { return log_; }
  const TableCounters& table_counters() const { return table_.counters(); }
  size_t connections() const { return table_.size(); }
  // "connections: 3 opened by the guest, 2 by host clients; 1048576 bytes to the guest, ...;
  // events: ..." for the log at exit.
  std::string summary() const;

 private:
  using Clock = std::chrono::steady_clock;
  // The host side of one vsock connection (its entry in table_ has the same key).
  struct HostPeer {
    UniqueFd fd;  // closed once the connection is shut down or reset; the entry lives on
                  // until the table drops the connection
    uint32_t token = 0;
    uint32_t watched = 0;  // epoll interest registered now (0: not registered)
    std::vector<uint8_t> to_host;  // guest bytes the socket has not taken yet
    size_t to_host_sent = 0;
    std::vector<uint8_t> to_guest;  // bytes a host client sent right after its CONNECT line
    size_t to_guest_sent = 0;
    bool readable = false;       // epoll said so and no read has found it empty since
    bool read_eof = false;       // the host peer shut its write side
    bool write_shut = false;     // we shut the host socket's write side (guest SHUTDOWN(SEND))
    bool reply_pending = false;  // a host CONNECT: "OK <port>\n" once the guest answers
    std::optional<Clock::time_point> deadline;  // connect or close timeout
  };
  // A host client that has not completed its CONNECT line.
  struct PendingClient {
    UniqueFd fd;
    std::array<uint8_t, kMaxConnectLine> line{};
    size_t length = 0;
    Clock::time_point deadline;
  };
  static constexpr uint32_t kListenerToken = 0, kTimerToken = 1, kFirstToken = 2;

  VsockDevice(VsockDeviceOptions options, UniqueFd listener, backend::ThrottleTimer timer);

  // tx path (vsock_tx.cc)
  Result<uint32_t> process_tx(virtio::SplitQueue& queue, uint32_t budget);
  void handle_guest_packet(const GuestPacket& packet);
  void accept_guest_request(const Header& request);
  void forward_to_host(ConnectionKey key, std::span<const uint8_t> bytes);
  // The event queue: posts a pending TRANSPORT_RESET into the guest's next event buffer.
  Result<uint32_t> process_events(virtio::SplitQueue& queue);
  // rx path (vsock_rx.cc)
  Result<uint32_t> process_rx(virtio::SplitQueue& queue, uint32_t budget);
  // The connection after the round-robin cursor with a packet to send, if any.
  std::optional<ConnectionKey> next_sender();
  bool data_ready(ConnectionKey key, const Connection& connection) const;
  // Fills `chain` with host data of `key` (or the control packet a failed read produced);
  // the bytes written, 0 when nothing could go (the chain is kept for the next packet).
  uint32_t fill_with_data(ConnectionKey key, const virtio::DescriptorChain& chain);
  // host side (vsock_host.cc)
  void accept_clients();
  void read_connect_line(uint32_t token);
  void on_peer_event(uint32_t token);
  void on_timer();
  void flush_to_host(ConnectionKey key, HostPeer& peer);
  // Brings the host side of `key` in line with its connection: closes, shuts down, replies,
  // sets deadlines and epoll interest, wakes the rx queue; drops both once finished.
  void reconcile(ConnectionKey key);
  void close_host_socket(HostPeer& peer);
  void set_interest(HostPeer& peer, uint32_t events);
  void schedule(Clock::time_point deadline);
  uint32_t new_token();

  VsockDeviceOptions options_;
  UniqueFd listener_;
  backend::ThrottleTimer timer_;
  std::optional<Clock::time_point> armed_for_;
  std::optional<Clock::time_point> listener_resume_;  // set while accept failures rest it
  backend::DeviceEvents* events_ = nullptr;
  ConnectionTable table_;
  EventLog log_;
  std::map<ConnectionKey, HostPeer> peers_;
  std::map<uint32_t, ConnectionKey> peer_tokens_;
  std::map<uint32_t, PendingClient> pending_;
  uint32_t next_token_ = kFirstToken;
  std::optional<ConnectionKey> rx_cursor_;
  std::optional<Header> held_rst_;                      // a stand-alone RST awaiting a buffer
  std::optional<virtio::DescriptorChain> held_rx_;      // an rx buffer popped but not filled
  bool transport_reset_pending_ = false;                // a TRANSPORT_RESET event to post
  std::vector<uint8_t> tx_packet_;                      // the tx chain's copy
  uint64_t guest_opened_ = 0, host_opened_ = 0, bytes_to_guest_ = 0, bytes_to_host_ = 0;
  std::array<uint8_t, 8> config_{};                     // virtio_vsock_config: guest_cid le64
};

}  // namespace bulwark::vsock

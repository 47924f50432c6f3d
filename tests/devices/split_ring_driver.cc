#include "tests/devices/split_ring_driver.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>

namespace bulwark::test {

using namespace std::chrono_literals;
using virtio_pci::QueueSetup;

std::chrono::milliseconds milliseconds_until(std::chrono::steady_clock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
}

Result<std::unique_ptr<GuestRam>> GuestRam::create() {
  UniqueFd memfd(::memfd_create("net-monitor-frontend-ram", MFD_CLOEXEC));
  if (!memfd.valid()) return Error::from_errno("memfd_create", errno);
  if (::ftruncate(memfd.get(), 2 * kRegionBytes) != 0) return Error::from_errno("ftruncate", errno);
  void* base = ::mmap(nullptr, 2 * kRegionBytes, PROT_READ | PROT_WRITE, MAP_SHARED, memfd.get(), 0);
  if (base == MAP_FAILED) return Error::from_errno("mmap", errno);
  return std::unique_ptr<GuestRam>(new GuestRam(std::move(memfd), static_cast<uint8_t*>(base)));
}

GuestRam::GuestRam(UniqueFd memfd, uint8_t* base) : memfd_(std::move(memfd)), base_(base) {
  shared_.memfd = memfd_.get();
  shared_.regions = {{0, kRegionBytes, base_, 0}, {kHighGpa, kRegionBytes, base_ + kRegionBytes, kRegionBytes}};
}

GuestRam::~GuestRam() { ::munmap(base_, 2 * kRegionBytes); }

uint8_t* GuestRam::at(uint64_t gpa, uint64_t length) {
  const std::optional<uint64_t> host = shared_.host_address(gpa, length);
  if (!host) {
    ADD_FAILURE() << "gpa " << gpa << " +" << length << " is outside guest RAM";
    return base_;
  }
  return reinterpret_cast<uint8_t*>(*host);
}

NetDriver::NetDriver(GuestRam& ram, uint16_t queues) : ram_(ram), queues_(queues) {
  for (uint16_t q = 0; q < queues; ++q) {
    Queue& queue = queues_[q];
    const uint64_t slot = (q < 2 ? 0 : GuestRam::kHighGpa) + 0x1000ULL * (q + 1);
    queue.desc = slot;
    queue.avail = slot + 0x200;
    queue.used = slot + 0x400;
    queue.kick.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    queue.call.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  }
}

std::vector<QueueSetup> NetDriver::setups() const {
  std::vector<QueueSetup> out;
  for (uint16_t q = 0; q < queues_.size(); ++q) {
    const Queue& queue = queues_[q];
    out.push_back({q, kQueueSize, queue.desc, queue.avail, queue.used, queue.kick.get(), queue.call.get()});
  }
  return out;
}

void NetDriver::clear_rings() {
  for (Queue& queue : queues_) {
    std::memset(ram_.at(queue.desc, 0x600), 0, 0x600);
    queue.avail_idx = 0;
    queue.announced = 0;
    queue.rx_seen = 0;
    drain(queue.call.get());
  }
}

Result<uint16_t> NetDriver::post_tx(uint16_t tx, std::span<const uint8_t> frame) {
  constexpr uint64_t kTxArea = 0x40000;
  std::memset(ram_.at(kTxArea, kVnetHeaderBytes), 0, kVnetHeaderBytes);
  std::memcpy(ram_.at(kTxArea + 0x100, frame.size()), frame.data(), frame.size());
  write_descriptor(tx, 0, kTxArea, kVnetHeaderBytes, kDescNext, 1);
  write_descriptor(tx, 1, kTxArea + 0x100, static_cast<uint32_t>(frame.size()), 0, 0);
  offer(tx, 0);
  BULWARK_TRY(kick(tx));
  return queues_[tx].avail_idx;
}

Result<uint32_t> NetDriver::send(uint16_t tx, std::span<const uint8_t> frame) {
  auto target = post_tx(tx, frame);
  if (!target.ok()) return target.error();
  BULWARK_TRY(wait_used(tx, *target, 3s));
  return used_element(tx, static_cast<uint16_t>(*target - 1)).second;
}

Status NetDriver::post_rx(uint16_t rx, uint16_t count, uint32_t size) {
  Queue& queue = queues_[rx];
  queue.rx_area = GuestRam::kHighGpa + 0x10000 + 0x10000ULL * (rx / 2);
  queue.rx_size = size;
  for (uint16_t i = 0; i < count; ++i) {
    write_descriptor(rx, i, queue.rx_area + uint64_t{i} * size, size, kDescWrite, 0);
    offer(rx, i);
  }
  return kick(rx);
}

Result<std::vector<uint8_t>> NetDriver::receive(uint16_t rx, std::chrono::milliseconds timeout) {
  Queue& queue = queues_[rx];
  std::vector<uint8_t> packet;
  uint16_t buffers = 1;
  for (uint16_t i = 0; i < buffers; ++i) {
    BULWARK_TRY(wait_used(rx, static_cast<uint16_t>(queue.rx_seen + 1), timeout));
    const auto [head, length] = used_element(rx, queue.rx_seen++);
    if (head >= kQueueSize || length > queue.rx_size) {
      return Error("used RX element: head " + std::to_string(head) + " length " + std::to_string(length));
    }
    const uint8_t* data = ram_.at(queue.rx_area + uint64_t{head} * queue.rx_size, queue.rx_size);
    packet.insert(packet.end(), data, data + length);
    if (i == 0) {
      if (length < kVnetHeaderBytes) return Error("an RX buffer without a whole vnet header");
      buffers = static_cast<uint16_t>(packet[10] | (packet[11] << 8));
      if (buffers == 0) return Error("num_buffers 0");
    }
    offer(rx, static_cast<uint16_t>(head));
  }
  BULWARK_TRY(kick(rx));
  return packet;
}

Result<uint8_t> NetDriver::control(uint16_t ctrl, std::span<const uint8_t> command) {
  constexpr uint64_t kCtrlArea = 0x50000;
  std::memcpy(ram_.at(kCtrlArea, command.size()), command.data(), command.size());
  uint8_t* ack = ram_.at(kCtrlArea + 0x800);
  *ack = 0xee;
  write_descriptor(ctrl, 0, kCtrlArea, static_cast<uint32_t>(command.size()), kDescNext, 1);
  write_descriptor(ctrl, 1, kCtrlArea + 0x800, 1, kDescWrite, 0);
  const uint16_t target = static_cast<uint16_t>(queues_[ctrl].avail_idx + 1);
  offer(ctrl, 0);
  BULWARK_TRY(kick(ctrl));
  BULWARK_TRY(wait_used(ctrl, target, 3s));
  const auto [head, length] = used_element(ctrl, static_cast<uint16_t>(target - 1));
  if (head != 0 || length != 1) {
    return Error("used control element: head " + std::to_string(head) + " length " + std::to_string(length));
  }
  return __atomic_load_n(ack, __ATOMIC_ACQUIRE);
}

void NetDriver::write_descriptor(uint16_t q, uint16_t i, uint64_t gpa, uint32_t length, uint16_t flags,
                                 uint16_t next) {
  uint8_t* d = ram_.at(queues_[q].desc + 16ULL * i, 16);
  std::memcpy(d, &gpa, 8);
  std::memcpy(d + 8, &length, 4);
  std::memcpy(d + 12, &flags, 2);
  std::memcpy(d + 14, &next, 2);
}

void NetDriver::offer(uint16_t q, uint16_t head) {
  Queue& queue = queues_[q];
  std::memcpy(ram_.at(queue.avail + 4 + 2ULL * (queue.avail_idx % kQueueSize), 2), &head, 2);
  ++queue.avail_idx;
  __atomic_store_n(reinterpret_cast<uint16_t*>(ram_.at(queue.avail + 2, 2)), queue.avail_idx, __ATOMIC_RELEASE);
}

Status NetDriver::kick(uint16_t q) {
  const uint64_t one = 1;
  if (::write(queues_[q].kick.get(), &one, sizeof one) != sizeof one) return Error::from_errno("kick", errno);
  return ok_status();
}

uint16_t NetDriver::used_idx(uint16_t q) {
  return __atomic_load_n(reinterpret_cast<const uint16_t*>(ram_.at(queues_[q].used + 2, 2)), __ATOMIC_ACQUIRE);
}

std::pair<uint32_t, uint32_t> NetDriver::used_element(uint16_t q, uint16_t n) {
  const uint8_t* element = ram_.at(queues_[q].used + 4 + 8ULL * (n % kQueueSize), 8);
  uint32_t head = 0, length = 0;
  std::memcpy(&head, element, 4);
  std::memcpy(&length, element + 4, 4);
  return {head, length};
}

Status NetDriver::wait_used(uint16_t q, uint16_t target, std::chrono::milliseconds timeout) {
  Queue& queue = queues_[q];
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (static_cast<int16_t>(queue.announced - target) < 0) {
    const auto left = milliseconds_until(deadline);
    if (left.count() <= 0) {
      return Error("queue " + std::to_string(q) + ": used index " + std::to_string(used_idx(q)) +
                   " (announced by the call eventfd: " + std::to_string(queue.announced) + "), waited for " +
                   std::to_string(target));
    }
    pollfd p{queue.call.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 50))) == 1 && drain(queue.call.get())) {
      // Everything used so far was announced: the device writes the used ring, then signals.
      queue.announced = used_idx(q);
    }
  }
  return ok_status();
}

bool NetDriver::drain(int fd) {
  uint64_t count = 0;
  return ::read(fd, &count, sizeof count) == sizeof count;
}

}  // namespace bulwark::test

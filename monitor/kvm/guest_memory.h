// Guest RAM: one memfd, sealed against resizing, mapped once into the monitor. Later the same
// fd is handed to device processes (vhost-user SET_MEM_TABLE), which is why it is a memfd.
// Every host access to guest memory goes through span(), which checks start+length.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "monitor/boot/guest_layout.h"

namespace bulwark::kvm {

class GuestMemory {
 public:
  static Result<GuestMemory> create(const boot::GuestLayout& layout);
  ~GuestMemory();
  GuestMemory(GuestMemory&& other) noexcept;
  GuestMemory& operator=(GuestMemory&&) = delete;
  GuestMemory(const GuestMemory&) = delete;

  // Host view of [gpa, gpa+len) when it lies entirely inside one RAM range; nullopt otherwise.
  std::optional<std::span<uint8_t>> span(uint64_t gpa, uint64_t len) const;
  const boot::GuestLayout& layout() const { return layout_; }
  int memfd() const { return memfd_.get(); }
  // Host address of each RAM range, in layout order (for KVM memory slots).
  uint8_t* host_address_of_range(size_t index) const;

 private:
  GuestMemory(boot::GuestLayout layout, UniqueFd memfd, uint8_t* base, uint64_t size)
      : layout_(std::move(layout)), memfd_(std::move(memfd)), base_(base), size_(size) {}
  boot::GuestLayout layout_;
  UniqueFd memfd_;
  uint8_t* base_ = nullptr;  // all ranges back to back in one mapping of size_ bytes
  uint64_t size_ = 0;
};

}  // namespace bulwark::kvm

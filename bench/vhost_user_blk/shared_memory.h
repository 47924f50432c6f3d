// The benchmark's stand-in for guest RAM: one sealed memfd mapped into this process and shared
// with the device process by SET_MEM_TABLE. Guest-physical address 0 is the start of the memfd.
#pragma once

#include <cstdint>
#include <span>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"

namespace bulwark::bench {

class SharedMemory {
 public:
  static Result<SharedMemory> create(uint64_t size);
  SharedMemory(SharedMemory&& other) noexcept;
  SharedMemory& operator=(SharedMemory&&) = delete;
  SharedMemory(const SharedMemory&) = delete;
  SharedMemory& operator=(const SharedMemory&) = delete;
  ~SharedMemory();

  int fd() const { return fd_.get(); }
  uint64_t size() const { return size_; }
  // This process's virtual address of guest-physical 0 (vhost-user ring addresses use it).
  uint64_t frontend_address() const { return reinterpret_cast<uint64_t>(base_); }
  // The bytes at [gpa, gpa + length); the caller's layout keeps them inside the memfd.
  std::span<uint8_t> at(uint64_t gpa, uint64_t length) const;
  template <typename T>
  T* object_at(uint64_t gpa) const {
    return reinterpret_cast<T*>(at(gpa, sizeof(T)).data());
  }

 private:
  SharedMemory(UniqueFd fd, uint8_t* base, uint64_t size) : fd_(std::move(fd)), base_(base), size_(size) {}
  UniqueFd fd_;
  uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace bulwark::bench

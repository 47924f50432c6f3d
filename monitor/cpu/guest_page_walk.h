// Reads guest memory through the guest's own 4-level page tables. The tables are guest-
// controlled bytes: every entry is bounds-checked against RAM, and the walk has a fixed depth.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>

namespace bulwark::cpu {

// Host view of guest-physical [gpa, gpa+len), or nullopt when that is not all RAM.
using GuestPhysicalView = std::function<std::optional<std::span<uint8_t>>(uint64_t gpa, uint64_t len)>;

// Guest-physical address of `gva` under the page tables at `cr3` (4-level, 4K/2M/1G pages);
// nullopt when a level is not present or lies outside RAM.
std::optional<uint64_t> translate_guest_virtual(const GuestPhysicalView& ram, uint64_t cr3, uint64_t gva);

// Reads a little-endian u64 at `gva`, which may straddle two pages.
std::optional<uint64_t> read_guest_virtual_u64(const GuestPhysicalView& ram, uint64_t cr3, uint64_t gva);

}  // namespace bulwark::cpu

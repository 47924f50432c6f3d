// Everything the monitor must put into guest memory to boot a kernel, computed without
// touching guest memory, then applied in one checked pass.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "bulwark/common/result.h"
#include "monitor/boot/guest_layout.h"
#include "monitor/boot/kernel_image.h"

namespace bulwark::boot {

// Bytes the monitor generated (zero page, command line) and where they go.
struct GuestWrite {
  uint64_t guest_addr = 0;
  std::vector<uint8_t> bytes;
};

// Spans point into the caller's kernel and initrd files, which must outlive the plan.
struct BootPlan {
  KernelFormat format = KernelFormat::kElf;
  std::vector<LoadSegment> kernel_segments;
  std::vector<GuestWrite> writes;  // the zero page at zero_page_addr, the command line
  uint64_t initrd_addr = 0;        // 0 when there is no initrd
  std::span<const uint8_t> initrd;
  uint64_t entry64 = 0;            // RIP at the 64-bit entry
  uint64_t zero_page_addr = 0;     // RSI at the 64-bit entry
};

// Parses the kernel (ELF or bzImage), validates the command line (no NUL inside, at most
// min(kCmdlineMaxSize - 1, kernel cmdline_limit) bytes; written NUL-terminated at
// kCmdlineAddr), places the initrd (place_initrd) and builds the zero page at kZeroPageAddr
// with the layout's e820 map and acpi_rsdp_addr (0: leave unset).
Result<BootPlan> plan_linux_boot(std::span<const uint8_t> kernel_file,
                                 std::span<const uint8_t> initrd_file, std::string_view cmdline,
                                 const GuestLayout& layout, uint64_t acpi_rsdp_addr);

// Host view of guest RAM [gpa, gpa+len), or nullopt when that is not entirely RAM
// (kvm::GuestMemory::span has this shape).
using GuestSpanProvider = std::function<std::optional<std::span<uint8_t>>(uint64_t gpa, uint64_t len)>;

// Copies every kernel segment (zero-filling past its file bytes), every write and the initrd
// into guest memory. Refuses, before writing anything, a piece that is not RAM, pieces that
// overlap each other, or a provider span of the wrong length.
Status apply_boot_plan(const BootPlan& plan, const GuestSpanProvider& guest_span);

}  // namespace bulwark::boot

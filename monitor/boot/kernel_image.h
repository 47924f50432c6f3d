// A parsed, validated kernel image: what to copy where, and where to enter. Produced by the
// ELF and bzImage parsers from tenant-supplied (hostile) files; every segment already lies in
// guest RAM at or above 1 MiB and below the MMIO hole, and segments never overlap.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "bulwark/common/result.h"
#include "monitor/boot/guest_layout.h"

namespace bulwark::boot {

// One contiguous piece of the kernel in guest-physical memory. The bytes of file_bytes are
// copied to guest_addr; the rest of [guest_addr, guest_addr+mem_size) is zero-filled.
// file_bytes points into the caller's kernel file, which must outlive the segment.
struct LoadSegment {
  uint64_t guest_addr = 0;
  std::span<const uint8_t> file_bytes;
  uint64_t mem_size = 0;  // >= file_bytes.size()
  uint64_t end() const { return guest_addr + mem_size; }
};

enum class KernelFormat { kElf, kBzImage };

// Linux on x86 copies at most COMMAND_LINE_SIZE (2048) bytes, NUL included. An ELF vmlinux does
// not declare its limit, so the monitor assumes this one rather than let the kernel truncate.
inline constexpr uint32_t kElfCmdlineLimit = 2047;
// An ELF kernel has no initrd_addr_max field; boot.rst gives this as the historical default.
inline constexpr uint64_t kElfInitrdAddrMax = 0x7fffffff;

struct KernelImage {
  KernelFormat format = KernelFormat::kElf;
  std::vector<LoadSegment> segments;  // sorted by guest_addr
  uint64_t entry64 = 0;               // guest-physical 64-bit entry point
  // bzImage: the setup header bytes from file offset 0x1f1 up to the end the jump at 0x200
  // declares, copied verbatim into boot_params.hdr. Empty for ELF.
  std::vector<uint8_t> setup_header;
  uint16_t boot_protocol = 0;         // bzImage header version, e.g. 0x020f; 0 for ELF
  uint32_t cmdline_limit = kElfCmdlineLimit;     // longest command line, NUL excluded
  uint64_t initrd_addr_max = kElfInitrdAddrMax;  // highest address the initrd may occupy

  // Lowest guest address any segment occupies, and the first address past the highest
  // segment (0 and 0 when there are no segments).
  uint64_t lowest_addr() const;
  uint64_t end_addr() const;
};

// Dispatches on the magic: "\x7fELF" at 0 -> ELF, 0xAA55 at 0x1fe and "HdrS" at 0x202 ->
// bzImage. Anything else is refused with an error saying what was found.
Result<KernelImage> parse_kernel_image(std::span<const uint8_t> file, const GuestLayout& layout);

}  // namespace bulwark::boot

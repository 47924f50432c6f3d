#include "monitor/boot/kernel_image.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "bulwark/common/byte_reader.h"
#include "monitor/boot/bzimage.h"
#include "monitor/boot/elf_kernel.h"
#include "monitor/boot/hex_format.h"

namespace bulwark::boot {

uint64_t KernelImage::lowest_addr() const {
  uint64_t lowest = segments.empty() ? 0 : UINT64_MAX;
  for (const LoadSegment& s : segments) lowest = std::min(lowest, s.guest_addr);
  return lowest;
}

uint64_t KernelImage::end_addr() const {
  uint64_t end = 0;
  for (const LoadSegment& s : segments) end = std::max(end, s.end());
  return end;
}

Result<KernelImage> parse_kernel_image(std::span<const uint8_t> file, const GuestLayout& layout) {
  static constexpr uint8_t kElfMagic[4] = {0x7f, 'E', 'L', 'F'};
  if (file.size() >= sizeof(kElfMagic) && std::memcmp(file.data(), kElfMagic, sizeof(kElfMagic)) == 0)
    return parse_elf_kernel(file, layout);
  const auto boot_flag = read_le<uint16_t>(file, 0x1fe);
  const auto hdrs = read_le<uint32_t>(file, 0x202);
  if (boot_flag && hdrs && *boot_flag == 0xaa55 && *hdrs == 0x53726448)
    return parse_bzimage(file, layout);

  // Say what was expected, never what was found: the file may be anything the tenant named
  // (a host secret), and its bytes must not come back in a message.
  if (file.empty()) return Error("kernel image is an empty file: not an ELF vmlinux or bzImage");
  return Error("kernel image is not an ELF vmlinux or bzImage: expected \\x7fELF at offset 0, or "
               "the boot flag 0xaa55 at 0x1fe and \"HdrS\" at 0x202");
}

}  // namespace bulwark::boot

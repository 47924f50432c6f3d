// Hostile bzImages: parse_bzimage must refuse or accept without crashing, and anything it
// accepts must be loadable as promised (payload from the file, init_size of RAM above 1 MiB,
// entry at +0x200 inside the payload, a setup header that fits the zero page).
#include <cstdint>
#include <cstdlib>
#include <span>

#include "monitor/boot/bzimage.h"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bulwark::boot;
  static const GuestLayout layout = GuestLayout::for_ram_size(64 << 20);
  const std::span<const uint8_t> file(data, size);
  auto image = parse_bzimage(file, layout);
  if (!image.ok()) return 0;
  check(image->segments.size() == 1);
  const LoadSegment& s = image->segments[0];
  check(s.file_bytes.size() > kBzImage64BitEntryOffset && s.file_bytes.size() <= s.mem_size);
  check(s.file_bytes.data() + s.file_bytes.size() == data + size);
  check(s.guest_addr >= kHighMemStart && layout.is_ram(s.guest_addr, s.mem_size));
  check(image->entry64 == s.guest_addr + kBzImage64BitEntryOffset);
  check(image->boot_protocol >= kXloadflagsProtocol);
  check(kSetupHeaderOffset + image->setup_header.size() <= kSetupHeaderLimit);
  return 0;
}

// Hostile ELF kernels: parse_elf_kernel must refuse or accept without crashing, and anything it
// accepts must honour its contract (segments inside the file and inside RAM, above 1 MiB,
// disjoint; the entry inside a segment).
#include <cstdint>
#include <cstdlib>
#include <span>

#include "monitor/boot/elf_kernel.h"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bulwark::boot;
  static const GuestLayout layout = GuestLayout::for_ram_size(64 << 20);
  const std::span<const uint8_t> file(data, size);
  auto image = parse_elf_kernel(file, layout);
  if (!image.ok()) return 0;
  check(!image->segments.empty());
  bool entry_in_segment = false;
  for (size_t i = 0; i < image->segments.size(); ++i) {
    const LoadSegment& s = image->segments[i];
    check(s.file_bytes.size() <= s.mem_size);
    check(s.file_bytes.empty() || (s.file_bytes.data() >= data && s.file_bytes.data() + s.file_bytes.size() <= data + size));
    check(s.guest_addr >= kHighMemStart && layout.is_ram(s.guest_addr, s.mem_size));
    if (i > 0) check(image->segments[i - 1].end() <= s.guest_addr);
    if (image->entry64 >= s.guest_addr && image->entry64 < s.end()) entry_in_segment = true;
  }
  check(entry_in_segment);
  return 0;
}

#include "monitor/boot/zero_page.h"

#include <asm/bootparam.h>

#include <cstring>
#include <string>

#include "monitor/boot/hex_format.h"

namespace bulwark::boot {
namespace {

static_assert(sizeof(boot_params) == kZeroPageSize);
static_assert(offsetof(boot_params, hdr) == 0x1f1);
static_assert(E820_MAX_ENTRIES_ZEROPAGE == kMaxZeroPageE820Entries);

constexpr uint64_t k4GiB = uint64_t{1} << 32;

void synthesize_elf_header(setup_header& hdr) {
  hdr.boot_flag = 0xaa55;
  hdr.header = 0x53726448;  // "HdrS"
  hdr.version = kElfBootProtocol;
  hdr.kernel_alignment = kElfKernelAlignment;
}

}  // namespace

Result<std::vector<uint8_t>> build_zero_page(const ZeroPageInputs& in) {
  if (in.e820.size() > kMaxZeroPageE820Entries)
    return Error("zero page: e820 map has " + std::to_string(in.e820.size()) +
                 " entries, more than the " + std::to_string(kMaxZeroPageE820Entries) +
                 " boot_params holds");
  if (in.cmdline_addr >= k4GiB)
    return Error("zero page: command line address " + hex(in.cmdline_addr) + " is not below 4 GiB");
  if (in.initrd_addr >= k4GiB || in.initrd_size >= k4GiB || in.initrd_addr + in.initrd_size > k4GiB)
    return Error("zero page: initrd at " + hex(in.initrd_addr) + " of " + hex(in.initrd_size) +
                 " bytes does not end below 4 GiB");

  boot_params params;
  std::memset(&params, 0, sizeof(params));
  if (in.kernel.format == KernelFormat::kBzImage) {
    // The kernel's own header, byte for byte; the bzImage parser bounded it to 0x290.
    const std::vector<uint8_t>& header = in.kernel.setup_header;
    if (header.size() > kZeroPageSize - offsetof(boot_params, hdr))
      return Error("zero page: setup header of " + std::to_string(header.size()) + " bytes is too long");
    std::memcpy(reinterpret_cast<uint8_t*>(&params) + offsetof(boot_params, hdr), header.data(),
                header.size());
  } else {
    synthesize_elf_header(params.hdr);
  }

  params.hdr.type_of_loader = kTypeOfLoaderUndefined;
  params.hdr.loadflags |= LOADED_HIGH | CAN_USE_HEAP;
  params.hdr.loadflags &= static_cast<uint8_t>(~KEEP_SEGMENTS);
  params.hdr.heap_end_ptr = kHeapEndPtr;
  params.hdr.cmd_line_ptr = static_cast<uint32_t>(in.cmdline_addr);
  params.hdr.ramdisk_image = static_cast<uint32_t>(in.initrd_addr);
  params.hdr.ramdisk_size = static_cast<uint32_t>(in.initrd_size);
  params.acpi_rsdp_addr = in.acpi_rsdp_addr;

  params.e820_entries = static_cast<uint8_t>(in.e820.size());
  for (size_t i = 0; i < in.e820.size(); ++i) {
    params.e820_table[i].addr = in.e820[i].addr;
    params.e820_table[i].size = in.e820[i].size;
    params.e820_table[i].type = static_cast<uint32_t>(in.e820[i].type);
  }

  std::vector<uint8_t> page(kZeroPageSize);
  std::memcpy(page.data(), &params, sizeof(params));
  return page;
}

}  // namespace bulwark::boot

#include "monitor/boot/bzimage.h"

#include <asm/bootparam.h>

#include <cstddef>
#include <string>

#include "bulwark/common/byte_reader.h"
#include "monitor/boot/hex_format.h"

namespace bulwark::boot {
namespace {

constexpr uint16_t kBootFlag = 0xaa55;
constexpr uint32_t kHdrSMagic = 0x53726448;  // "HdrS" read little endian
constexpr uint8_t kShortJumpOpcode = 0xeb;
constexpr uint64_t kSectorSize = 512;
// The real-mode part (boot sector + setup code) may be at most 32 KiB (boot.rst; the kernel's
// own build tool refuses more than 64 sectors), so setup_sects can be at most 63.
constexpr uint64_t kMaxRealModeBytes = 0x8000;
constexpr uint64_t kMaxSetupSects = kMaxRealModeBytes / kSectorSize - 1;
constexpr uint64_t kSysSizeUnit = 16;  // syssize counts 16-byte paragraphs

// File offsets of the setup-header fields (identical to their zero-page offsets).
#define BZ_FIELD(name) (offsetof(boot_params, hdr) + offsetof(setup_header, name))

Error bz_error(const std::string& what) { return Error("bzImage: " + what); }

// Reads setup-header fields, refusing any that lie past the header's declared end (a header
// that claims a protocol version but is too short to hold that version's fields).
class SetupHeaderReader {
 public:
  SetupHeaderReader(std::span<const uint8_t> file, uint64_t header_end)
      : header_(file.first(header_end)) {}

  template <typename T>
  Result<T> field(uint64_t offset, const char* name) const {
    const auto value = read_le<T>(header_, offset);
    if (!value)
      return bz_error(std::string("setup header ends at ") + hex(header_.size()) +
                      ", before field " + name + " at " + hex(offset));
    return *value;
  }

 private:
  std::span<const uint8_t> header_;
};

bool is_power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

// Where the payload goes: see parse_bzimage's contract.
Result<uint64_t> choose_load_address(bool relocatable, uint64_t pref_address, uint32_t alignment) {
  if (!relocatable) {
    if (pref_address < kHighMemStart)
      return bz_error("non-relocatable kernel wants pref_address " + hex(pref_address) +
                      ", below 0x100000 (1 MiB) where the monitor keeps its boot structures");
    return pref_address;
  }
  if (!is_power_of_two(alignment))
    return bz_error("relocatable kernel has kernel_alignment " + hex(alignment) +
                    ", which is not a power of two");
  const uint64_t base = pref_address < kHighMemStart ? kHighMemStart : pref_address;
  const auto rounded = checked_add(base, alignment - 1);
  if (!rounded)
    return bz_error("pref_address " + hex(pref_address) + " rounded up to kernel_alignment " +
                    hex(alignment) + " wraps past the top of the address space");
  return *rounded & ~(uint64_t{alignment} - 1);
}

}  // namespace

Result<KernelImage> parse_bzimage(std::span<const uint8_t> file, const GuestLayout& layout) {
  const auto boot_flag = read_le<uint16_t>(file, BZ_FIELD(boot_flag));
  const auto magic = read_le<uint32_t>(file, BZ_FIELD(header));
  if (!boot_flag || !magic)
    return bz_error("file of " + std::to_string(file.size()) +
                    " bytes is too short to hold the boot sector and setup header magic");
  // The values found are not echoed: until both magics match, the bytes may be any file's
  // (a secret the tenant named as its kernel).
  if (*boot_flag != kBootFlag) return bz_error("no boot_flag 0xaa55 at 0x1fe: not a bzImage");
  if (*magic != kHdrSMagic) return bz_error("no header magic \"HdrS\" at 0x202: not a bzImage");

  // The jump at 0x200 skips the setup header, so its target is where the header ends.
  const uint8_t jump_opcode = file[BZ_FIELD(jump)];
  if (jump_opcode != kShortJumpOpcode)
    return bz_error("byte at 0x200 is " + hex(jump_opcode) +
                    ", not the short jump (0xeb) whose target ends the setup header");
  const uint64_t header_end = BZ_FIELD(header) + file[BZ_FIELD(jump) + 1];
  if (header_end > kSetupHeaderLimit)
    return bz_error("setup header ends at " + hex(header_end) + ", past the " +
                    hex(kSetupHeaderLimit) + " the zero page has room for");
  if (header_end > file.size())
    return bz_error("setup header ends at " + hex(header_end) + ", past the end of the " +
                    hex(file.size()) + "-byte file");
  const SetupHeaderReader hdr(file, header_end);

  const auto version = hdr.field<uint16_t>(BZ_FIELD(version), "version");
  if (!version) return version.error();
  if (*version < kMinBootProtocol)
    return bz_error("boot protocol " + protocol_version(*version) + " is older than the " +
                    protocol_version(kMinBootProtocol) + " the monitor needs");

  const auto loadflags = hdr.field<uint8_t>(BZ_FIELD(loadflags), "loadflags");
  if (!loadflags) return loadflags.error();
  if ((*loadflags & LOADED_HIGH) == 0)
    return bz_error("loadflags " + hex(*loadflags) +
                    " lacks LOADED_HIGH (0x1): a zImage that must load below 1 MiB");

  if (*version < kXloadflagsProtocol)
    return bz_error("boot protocol " + protocol_version(*version) +
                    " predates xloadflags (2.12), so the kernel cannot declare the 64-bit entry "
                    "point the monitor enters through");
  const auto xloadflags = hdr.field<uint16_t>(BZ_FIELD(xloadflags), "xloadflags");
  if (!xloadflags) return xloadflags.error();
  if ((*xloadflags & XLF_KERNEL_64) == 0)
    return bz_error("xloadflags " + hex(*xloadflags) +
                    " lacks XLF_KERNEL_64 (0x1): the kernel has no 64-bit entry point");

  const auto setup_sects_field = hdr.field<uint8_t>(BZ_FIELD(setup_sects), "setup_sects");
  const auto relocatable = hdr.field<uint8_t>(BZ_FIELD(relocatable_kernel), "relocatable_kernel");
  const auto alignment = hdr.field<uint32_t>(BZ_FIELD(kernel_alignment), "kernel_alignment");
  const auto cmdline_size = hdr.field<uint32_t>(BZ_FIELD(cmdline_size), "cmdline_size");
  const auto initrd_addr_max = hdr.field<uint32_t>(BZ_FIELD(initrd_addr_max), "initrd_addr_max");
  const auto pref_address = hdr.field<uint64_t>(BZ_FIELD(pref_address), "pref_address");
  const auto init_size = hdr.field<uint32_t>(BZ_FIELD(init_size), "init_size");
  const auto syssize = hdr.field<uint32_t>(BZ_FIELD(syssize), "syssize");
  if (!setup_sects_field) return setup_sects_field.error();
  if (!relocatable) return relocatable.error();
  if (!alignment) return alignment.error();
  if (!cmdline_size) return cmdline_size.error();
  if (!initrd_addr_max) return initrd_addr_max.error();
  if (!pref_address) return pref_address.error();
  if (!init_size) return init_size.error();
  if (!syssize) return syssize.error();

  // Setup code is setup_sects sectors after the boot sector; 0 means the historical 4.
  const uint64_t setup_sects = *setup_sects_field == 0 ? 4 : *setup_sects_field;
  // A setup_sects past the real setup code would start the payload inside the compressed
  // kernel, and the 64-bit "entry" would run whatever bytes land there.
  if (setup_sects > kMaxSetupSects)
    return bz_error("setup_sects " + std::to_string(setup_sects) + " puts " +
                    std::to_string((setup_sects + 1) * kSectorSize) +
                    " bytes of real-mode code before the payload, over the boot protocol's " +
                    "32 KiB (setup_sects at most " + std::to_string(kMaxSetupSects) + ")");
  const uint64_t payload_offset = (setup_sects + 1) * kSectorSize;
  if (payload_offset >= file.size() || file.size() - payload_offset <= kBzImage64BitEntryOffset)
    return bz_error("protected-mode payload at " + hex(payload_offset) + " ((setup_sects " +
                    std::to_string(setup_sects) + " + 1) * 512) leaves no room for the 64-bit "
                    "entry at +0x200 in the " + hex(file.size()) + "-byte file");
  const std::span<const uint8_t> payload = file.subspan(payload_offset);
  // syssize (2.04+) is the payload's size as the kernel's build wrote it: a payload shorter
  // than that means setup_sects claims sectors that belong to the payload. 0 means not given.
  const uint64_t declared_payload = uint64_t{*syssize} * kSysSizeUnit;
  if (declared_payload > payload.size())
    return bz_error("syssize " + hex(*syssize) + " declares a " + hex(declared_payload) +
                    "-byte protected-mode payload, but only " + hex(payload.size()) +
                    " bytes follow the setup code at " + hex(payload_offset) + " (setup_sects " +
                    std::to_string(setup_sects) + " too large?)");

  if (*init_size < payload.size())
    return bz_error("init_size " + hex(*init_size) + " is smaller than the " +
                    hex(payload.size()) + "-byte protected-mode payload");
  const auto load_addr = choose_load_address(*relocatable != 0, *pref_address, *alignment);
  if (!load_addr) return load_addr.error();
  const auto load_end = checked_add(*load_addr, *init_size);
  if (!load_end || *load_end > layout.low_ram_end() || !layout.is_ram(*load_addr, *init_size))
    return bz_error("kernel needs init_size " + hex(*init_size) + " bytes of RAM from load address " +
                    hex(*load_addr) + ", but guest RAM below 4 GiB ends at " +
                    hex(layout.low_ram_end()));

  KernelImage image;
  image.format = KernelFormat::kBzImage;
  image.segments.push_back({*load_addr, payload, *init_size});
  image.entry64 = *load_addr + kBzImage64BitEntryOffset;
  image.setup_header.assign(file.begin() + kSetupHeaderOffset, file.begin() + header_end);
  image.boot_protocol = *version;
  image.cmdline_limit = *cmdline_size;
  image.initrd_addr_max = *initrd_addr_max;
  return image;
}

#undef BZ_FIELD

}  // namespace bulwark::boot

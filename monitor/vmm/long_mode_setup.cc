#include "monitor/vmm/long_mode_setup.h"

#include <cstring>

#include "bulwark/common/byte_reader.h"
#include "monitor/boot/guest_layout.h"
#include "monitor/vmm/x86_efer.h"

namespace bulwark::vmm {
namespace {
constexpr uint16_t kCodeSelector = 0x10;
constexpr uint16_t kDataSelector = 0x18;
constexpr uint64_t kGdt[] = {
    0,                      // null
    0,                      // unused
    0x00af9b000000ffffULL,  // 0x10: 64-bit code, DPL 0
    0x00cf93000000ffffULL,  // 0x18: flat data, DPL 0
};
constexpr uint64_t kPresentWritable = 0x3;
constexpr uint64_t kLargePage = 0x80;
constexpr uint64_t kCr0Pe = 1, kCr0Et = 1u << 4, kCr0Pg = 1u << 31;
constexpr uint64_t kCr4Pae = 1u << 5;
}  // namespace

Status write_long_mode_tables(const kvm::GuestMemory& memory) {
  auto gdt = memory.span(boot::kGdtAddr, sizeof kGdt);
  auto pml4 = memory.span(boot::kPml4Addr, 4096);
  auto pdpt = memory.span(boot::kPdptAddr, 4096);
  auto pds = memory.span(boot::kPdAddr, 4 * 4096);
  if (!gdt || !pml4 || !pdpt || !pds) return Error("guest RAM too small for the boot page tables");
  std::memcpy(gdt->data(), kGdt, sizeof kGdt);
  std::memset(pml4->data(), 0, 4096);
  std::memset(pdpt->data(), 0, 4096);
  write_le<uint64_t>(*pml4, 0, boot::kPdptAddr | kPresentWritable);
  for (uint64_t gib = 0; gib < 4; ++gib) {
    write_le<uint64_t>(*pdpt, gib * 8, (boot::kPdAddr + gib * 4096) | kPresentWritable);
    for (uint64_t i = 0; i < 512; ++i) {
      const uint64_t addr = (gib << 30) | (i << 21);
      write_le<uint64_t>(*pds, (gib * 512 + i) * 8, addr | kPresentWritable | kLargePage);
    }
  }
  return ok_status();
}

Status enter_long_mode(const kvm::Vcpu& vcpu, uint64_t entry, uint64_t zero_page) {
  auto sregs = vcpu.get_sregs();
  if (!sregs.ok()) return sregs.error();
  kvm_segment code{};
  code.base = 0;
  code.limit = 0xffffffff;
  code.selector = kCodeSelector;
  code.type = 11;  // execute/read, accessed
  code.present = 1;
  code.s = 1;
  code.l = 1;
  code.g = 1;
  kvm_segment data = code;
  data.selector = kDataSelector;
  data.type = 3;  // read/write, accessed
  data.l = 0;
  data.db = 1;
  sregs->cs = code;
  sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = data;
  sregs->gdt.base = boot::kGdtAddr;
  sregs->gdt.limit = sizeof kGdt - 1;
  sregs->idt.base = 0;
  sregs->idt.limit = 0;
  sregs->cr3 = boot::kPml4Addr;
  sregs->cr4 = kCr4Pae;
  sregs->cr0 = kCr0Pe | kCr0Et | kCr0Pg;
  sregs->efer = kEferLme | kEferLma;
  BULWARK_TRY(vcpu.set_sregs(*sregs));
  kvm_regs regs{};
  regs.rip = entry;
  regs.rsi = zero_page;
  regs.rflags = 0x2;  // bit 1 is reserved-one; interrupts off
  return vcpu.set_regs(regs);
}

}  // namespace bulwark::vmm

// Instructions a guest may legitimately run that some hosts' KVM cannot emulate (KVM reports
// KVM_EXIT_INTERNAL_ERROR / emulation failure with the instruction bytes). The monitor
// completes these few itself; anything else stops the VM. Pure decoding, no KVM calls.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace bulwark::cpu {

enum class FixupKind {
  kNone,     // not one we complete: the VM stops
  kInt3,     // CC: advance RIP by 1, inject #BP (a trap: the handler sees RIP after INT3)
  kFwait,    // 9B: no x87 exception can be pending (we never unmask one): a no-op
  kClac,     // 0F 01 CA: clear RFLAGS.AC (CPL 0 only, else #UD)
  kStac,     // 0F 01 CB: set RFLAGS.AC (CPL 0 only, else #UD)
  kSwapgs,   // 0F 01 F8: swap GS base with IA32_KERNEL_GS_BASE (64-bit CPL 0 only, else #UD)
};

struct Fixup {
  FixupKind kind = FixupKind::kNone;
  uint8_t length = 0;  // bytes to advance RIP
};

Fixup decode_emulation_fixup(std::span<const uint8_t> instruction);
std::string_view fixup_name(FixupKind kind);

// Length of a no-operation instruction at the start of `code` (NOP, the multi-byte NOP
// forms, ENDBR64 with CET off), or 0 when `code` does not start with one.
uint8_t leading_nop_length(std::span<const uint8_t> code);

// The instruction bytes of an emulation-failure exit: `ndata` and `data` as in
// kvm_run::internal. data[0] holds flags (bit 0: bytes valid), the low byte of data[1] the
// length, then the bytes. Returns an empty span when the exit carries no bytes.
std::span<const uint8_t> emulation_failure_bytes(uint32_t ndata, std::span<const uint64_t> data);

}  // namespace bulwark::cpu

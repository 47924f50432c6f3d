// The PCR map of a Bulwark launch and the event each launch input becomes (attestation/README.md
// "PCR map"). The launcher measures the operator's and tenant's inputs through these; a verifier
// recognises the same events in a parsed log.
//
//   PCR 9   kernel (EV_IPL "kernel"), initrd (EV_EVENT_TAG, Linux's EFI stub's initrd tag),
//           command line (EV_IPL "kernel_cmdline: <text>", GRUB's event shape): the boot inputs
//           and the effective VM config in canonical form (EV_EVENT_TAG, Bulwark tag, "vm-config")
//   PCR 15  the isolation profile: one EV_EVENT_TAG with the Bulwark tag per item
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "attestation/event_log.h"
#include "attestation/event_log_writer.h"
#include "bulwark/common/result.h"

namespace bulwark::attestation {

inline constexpr uint32_t kPcrBootInputs = 9;
inline constexpr uint32_t kPcrIsolation = 15;

// Linux's EFI stub's taggedEventID for the initrd (drivers/firmware/efi/libstub, INITRD_EVENT_TAG_ID)
// and its tagged data, "Linux initrd" with its NUL.
inline constexpr uint32_t kLinuxInitrdTag = 0x8F3B22ED;
inline constexpr std::string_view kLinuxInitrdDescription{"Linux initrd\0", 13};
// Bulwark's taggedEventID for isolation items: the bytes "BWK1" in little-endian order.
inline constexpr uint32_t kBulwarkIsolationTag = 0x314B5742;
inline constexpr std::string_view kKernelDescription{"kernel\0", 7};
inline constexpr std::string_view kCommandLinePrefix = "kernel_cmdline: ";

// The kernel image file's bytes as the operator supplied it.
Result<Digests> measure_kernel(EventLogWriter& log, std::span<const uint8_t> kernel);
// The initrd file's bytes.
Result<Digests> measure_initrd(EventLogWriter& log, std::span<const uint8_t> initrd);
// The command line the guest receives, without its NUL; the event data repeats it so a
// verifier can apply its rule for host additions. Refused: a NUL inside.
Result<Digests> measure_command_line(EventLogWriter& log, std::string_view command_line);
// One isolation item: `item` names it (e.g. "seccomp dev-blk", "binary monitor"), up to 4 KiB
// with no NUL; `measured` is its content (the policy as compiled, the binary's bytes, the
// context text). The event data is the tagged event with the Bulwark tag and `item` plus NUL.
// The VM config the monitor receives, canonical (keys sorted, no whitespace): PCR 9, the event
// data the Bulwark tag and "vm-config" plus NUL.
inline constexpr std::string_view kVmConfigItem = "vm-config";
Result<Digests> measure_vm_config(EventLogWriter& log, std::string_view canonical_json);
Result<Digests> measure_isolation_item(EventLogWriter& log, std::string_view item,
                                       std::span<const uint8_t> measured);

}  // namespace bulwark::attestation

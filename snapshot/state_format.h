// The snapshot state file: layout, typed contents and the trailer MAC. Its bytes are the host's
// (a file the operator's host -- or a compromised one -- supplies, or a migration stream): the
// launcher or a migration process holding the VM's key checks the MAC (state_parser.h), the
// jailed monitor parses. Byte by byte in snapshot/README.md. Little endian throughout.
//
//   header   96 bytes: magic "BWSNAP\0\0", u32 format version, u32 flags, VM id (64 bytes,
//            NUL-padded), u32 section count, u32 reserved, u64 total file length
//   sections u32 type, u32 version, u64 payload length, payload
//   trailer  HMAC-SHA-256 of every byte before it, under StateKey::state_mac_key()
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/common/result.h"
#include "snapshot/hmac.h"
#include "snapshot/memory_chunks.h"
#include "snapshot/state_key.h"

namespace bulwark::snapshot {

inline constexpr std::array<uint8_t, 8> kMagic = {'B', 'W', 'S', 'N', 'A', 'P', 0, 0};
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kHeaderBytes = 96;
inline constexpr size_t kSectionHeaderBytes = 16;
inline constexpr size_t kTrailerBytes = kMacBytes;
// Header field offsets.
inline constexpr size_t kMagicOffset = 0;
inline constexpr size_t kVersionOffset = 8;
inline constexpr size_t kFlagsOffset = 12;
inline constexpr size_t kVmIdOffset = 16;
inline constexpr size_t kSectionCountOffset = 80;
inline constexpr size_t kReservedOffset = 84;
inline constexpr size_t kTotalLengthOffset = 88;

// Bounds on what a state file may claim (vCPU and device state are kilobytes; guest RAM is in
// the memory file, not here).
inline constexpr uint64_t kMaxStateFileBytes = uint64_t{64} << 20;
inline constexpr uint32_t kMaxSections = 4096;
inline constexpr uint32_t kMaxVcpus = 1024;
inline constexpr uint32_t kMaxDevices = 64;
inline constexpr size_t kMaxDeviceNameBytes = 32;
inline constexpr uint64_t kMaxVmConfigBytes = uint64_t{1} << 20;
inline constexpr uint32_t kMaxMemoryRegions = 64;
inline constexpr uint64_t kMemoryAlignment = 4096;

enum class SectionType : uint32_t {
  kVmConfig = 1,      // the VM config as canonical JSON (exactly one)
  kVcpu = 2,          // u32 index, u32 reserved (0), the vCPU's state bytes (one per vCPU)
  kDevice = 3,        // u32 name length, u32 reserved (0), name, the device's state bytes
  kMemoryLayout = 4,  // u32 region count, u32 reserved (0), regions of u64 gpa, size, file offset
  kMemoryChunks = 5,  // u64 chunk size, u64 memory file size, u64 chunk count, 32-byte MACs
};
// Every section type this build knows is at version 1; any other version is refused.
inline constexpr uint32_t kSectionVersion = 1;

// "vm config", "vcpu", ...; "unknown" for any other value.
std::string_view section_name(uint32_t type);

struct VcpuState {
  uint32_t index = 0;
  std::vector<uint8_t> bytes;  // opaque until capture exists (needs KVM)
  bool operator==(const VcpuState&) const = default;
};

struct DeviceState {
  std::string name;  // 1 to 32 of [a-z0-9_-], unique in a snapshot
  std::vector<uint8_t> bytes;
  bool operator==(const DeviceState&) const = default;
};

struct MemoryRegion {
  uint64_t guest_address = 0;
  uint64_t size = 0;
  uint64_t file_offset = 0;  // where the region's bytes start in the memory file
  bool operator==(const MemoryRegion&) const = default;
};

struct SnapshotState {
  std::string vm_id;
  std::string vm_config_json;
  std::vector<VcpuState> vcpus;      // sorted by index: 0, 1, ... n-1
  std::vector<DeviceState> devices;  // in file order
  std::vector<MemoryRegion> memory;  // sorted by guest address
  ChunkTable chunks;
  bool operator==(const SnapshotState&) const = default;
};

// What the restoring VM's config says the snapshot must hold.
struct Expectations {
  std::string vm_id;         // the VM the snapshot was made for (its key's VM id)
  uint32_t vcpu_count = 0;
  uint64_t memory_bytes = 0;  // the sum of the regions' sizes
  // When set: the regions' guest addresses and sizes, in order (file offsets are the writer's).
  std::optional<std::vector<MemoryRegion>> memory_layout;
  // When set: exactly these devices, in any order.
  std::optional<std::vector<std::string>> device_names;
};

Status check_device_name(std::string_view name);

// The trailer MAC of `body` (every byte before the trailer).
Result<Mac> state_mac(std::span<const uint8_t> body, const StateKey& key);

// Rewrites the last kTrailerBytes of `file` with the MAC of the bytes before them. The writer
// signs with it; tests and the fuzzer use it to get a lying body past the MAC check.
Status sign_state(std::span<uint8_t> file, const StateKey& key);

}  // namespace bulwark::snapshot

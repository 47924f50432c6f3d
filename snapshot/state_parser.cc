#include "snapshot/state_parser.h"

#include <algorithm>
#include <string>
#include <vector>

#include "bulwark/common/byte_reader.h"

namespace bulwark::snapshot {

namespace {

std::string num(uint64_t value) { return std::to_string(value); }

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

// The sections read so far.
struct Parsed {
  SnapshotState state;
  bool have_config = false;
  bool have_layout = false;
  bool have_chunks = false;
};

// A payload's leading u32 and the u32 after it, which must be 0 (reserved).
Result<uint32_t> read_leading_u32(std::span<const uint8_t> payload, const char* field) {
  if (payload.size() < 8)
    return Error("payload of " + num(payload.size()) + " bytes is shorter than its 8-byte header");
  if (*read_le<uint32_t>(payload, 4) != 0) return Error("reserved field after the " + std::string(field) + " is not 0");
  return *read_le<uint32_t>(payload, 0);
}

Status parse_vm_config(std::span<const uint8_t> payload, Parsed& out) {
  if (out.have_config) return Error("a second vm config section (only one is allowed)");
  if (payload.empty() || payload.size() > kMaxVmConfigBytes)
    return Error("vm config: expected 1 to " + num(kMaxVmConfigBytes) + " bytes, got " + num(payload.size()));
  out.state.vm_config_json.assign(payload.begin(), payload.end());
  out.have_config = true;
  return ok_status();
}

Status parse_vcpu(std::span<const uint8_t> payload, Parsed& out) {
  auto index = read_leading_u32(payload, "vcpu index");
  if (!index.ok()) return index.error();
  if (*index >= kMaxVcpus) return Error("vcpu index " + num(*index) + ": at most " + num(kMaxVcpus) + " vCPUs");
  for (const VcpuState& vcpu : out.state.vcpus)
    if (vcpu.index == *index) return Error("vcpu index " + num(*index) + " appears twice");
  out.state.vcpus.push_back(VcpuState{*index, {payload.begin() + 8, payload.end()}});
  return ok_status();
}

Status parse_device(std::span<const uint8_t> payload, Parsed& out) {
  auto name_length = read_leading_u32(payload, "device name length");
  if (!name_length.ok()) return name_length.error();
  if (!range_within(8, *name_length, payload.size()))
    return Error("device name length " + num(*name_length) + " runs past the section's " +
                 num(payload.size()) + " bytes");
  const std::string name(payload.begin() + 8, payload.begin() + 8 + *name_length);
  BULWARK_TRY(check_device_name(name));
  for (const DeviceState& device : out.state.devices)
    if (device.name == name) return Error("device " + quoted(name) + " appears twice");
  if (out.state.devices.size() >= kMaxDevices) return Error("more than " + num(kMaxDevices) + " devices");
  out.state.devices.push_back(DeviceState{name, {payload.begin() + 8 + *name_length, payload.end()}});
  return ok_status();
}

Status check_region(const MemoryRegion& region, size_t i) {
  const std::string what = "memory region " + num(i);
  if (region.size == 0) return Error(what + ": size 0");
  if (region.guest_address % kMemoryAlignment != 0 || region.size % kMemoryAlignment != 0 ||
      region.file_offset % kMemoryAlignment != 0)
    return Error(what + ": guest address, size and file offset must be multiples of 4096");
  if (!checked_add(region.guest_address, region.size)) return Error(what + ": guest address + size overflows");
  if (!checked_add(region.file_offset, region.size)) return Error(what + ": file offset + size overflows");
  return ok_status();
}

Status parse_memory_layout(std::span<const uint8_t> payload, Parsed& out) {
  if (out.have_layout) return Error("a second memory layout section (only one is allowed)");
  auto count = read_leading_u32(payload, "region count");
  if (!count.ok()) return count.error();
  if (*count == 0 || *count > kMaxMemoryRegions)
    return Error("memory layout: expected 1 to " + num(kMaxMemoryRegions) + " regions, got " + num(*count));
  const uint64_t needed = 8 + uint64_t{*count} * 24;  // count <= 64: no overflow
  if (payload.size() != needed)
    return Error("memory layout: " + num(*count) + " regions take " + num(needed) + " bytes, the section has " +
                 num(payload.size()));
  std::vector<MemoryRegion> regions(*count);
  for (uint32_t i = 0; i < *count; ++i) {
    const uint64_t at = 8 + uint64_t{i} * 24;
    regions[i] = MemoryRegion{*read_le<uint64_t>(payload, at), *read_le<uint64_t>(payload, at + 8),
                              *read_le<uint64_t>(payload, at + 16)};
    BULWARK_TRY(check_region(regions[i], i));
    if (i > 0 && regions[i].guest_address < regions[i - 1].guest_address + regions[i - 1].size)
      return Error("memory region " + num(i) + ": guest address not above the end of region " + num(i - 1) +
                   " (regions are sorted and do not overlap)");
  }
  // No two regions share bytes of the memory file: otherwise a write to one would show in the other.
  std::vector<MemoryRegion> by_offset = regions;
  std::sort(by_offset.begin(), by_offset.end(),
            [](const MemoryRegion& a, const MemoryRegion& b) { return a.file_offset < b.file_offset; });
  for (size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i].file_offset < by_offset[i - 1].file_offset + by_offset[i - 1].size)
      return Error("memory layout: two regions overlap in the memory file");
  out.state.memory = std::move(regions);
  out.have_layout = true;
  return ok_status();
}

Status parse_memory_chunks(std::span<const uint8_t> payload, Parsed& out) {
  if (out.have_chunks) return Error("a second memory chunks section (only one is allowed)");
  if (payload.size() < 24)
    return Error("memory chunks: payload of " + num(payload.size()) + " bytes is shorter than its 24-byte header");
  ChunkTable table;
  table.chunk_bytes = *read_le<uint64_t>(payload, 0);
  table.memory_file_bytes = *read_le<uint64_t>(payload, 8);
  const uint64_t count = *read_le<uint64_t>(payload, 16);
  BULWARK_TRY(check_chunk_geometry(table.chunk_bytes, table.memory_file_bytes, count));
  const uint64_t mac_bytes = payload.size() - 24;
  if (mac_bytes % kMacBytes != 0 || mac_bytes / kMacBytes != count)
    return Error("memory chunks: " + num(count) + " chunk MACs take " + num(count) + " * 32 bytes, the section has " +
                 num(mac_bytes) + " after its header");
  table.macs.resize(count);
  for (uint64_t i = 0; i < count; ++i)
    std::copy_n(payload.begin() + 24 + i * kMacBytes, kMacBytes, table.macs[i].begin());
  out.state.chunks = std::move(table);
  out.have_chunks = true;
  return ok_status();
}

Status parse_section(uint32_t type, std::span<const uint8_t> payload, Parsed& out) {
  switch (static_cast<SectionType>(type)) {
    case SectionType::kVmConfig: return parse_vm_config(payload, out);
    case SectionType::kVcpu: return parse_vcpu(payload, out);
    case SectionType::kDevice: return parse_device(payload, out);
    case SectionType::kMemoryLayout: return parse_memory_layout(payload, out);
    case SectionType::kMemoryChunks: return parse_memory_chunks(payload, out);
  }
  return Error("unknown section type " + num(type));
}

Result<std::string> parse_header_vm_id(std::span<const uint8_t> field) {
  const auto nul = std::find(field.begin(), field.end(), uint8_t{0});
  if (std::any_of(nul, field.end(), [](uint8_t b) { return b != 0; }))
    return Error("VM id: bytes after its end are not 0");
  std::string id(field.begin(), nul);
  BULWARK_TRY(check_vm_id(id));
  return id;
}

// The sections against each other and against the restoring VM's config.
Status check_against(SnapshotState& state, const Parsed& parsed, const Expectations& expect) {
  if (!parsed.have_config) return Error("no vm config section");
  if (!parsed.have_layout) return Error("no memory layout section");
  if (!parsed.have_chunks) return Error("no memory chunks section");
  if (state.vm_id != expect.vm_id)
    return Error("VM id: the snapshot was made for " + quoted(state.vm_id) + ", expected " + quoted(expect.vm_id));
  if (state.vcpus.size() != expect.vcpu_count)
    return Error("vCPU count: the snapshot has " + num(state.vcpus.size()) + ", the VM's config has " +
                 num(expect.vcpu_count));
  for (const VcpuState& vcpu : state.vcpus)
    if (vcpu.index >= expect.vcpu_count)
      return Error("vcpu index " + num(vcpu.index) + ": the VM has " + num(expect.vcpu_count) + " vCPUs");
  std::sort(state.vcpus.begin(), state.vcpus.end(),
            [](const VcpuState& a, const VcpuState& b) { return a.index < b.index; });

  uint64_t memory_bytes = 0, file_extent = 0;
  for (const MemoryRegion& region : state.memory) {
    auto sum = checked_add(memory_bytes, region.size);
    if (!sum) return Error("memory size: the regions' sizes overflow");
    memory_bytes = *sum;
    file_extent = std::max(file_extent, region.file_offset + region.size);  // checked in check_region
  }
  if (memory_bytes != expect.memory_bytes)
    return Error("memory size: the snapshot has " + num(memory_bytes) + " bytes, the VM's config has " +
                 num(expect.memory_bytes));
  if (expect.memory_layout) {
    const auto& want = *expect.memory_layout;
    bool same = want.size() == state.memory.size();
    for (size_t i = 0; same && i < want.size(); ++i)
      same = want[i].guest_address == state.memory[i].guest_address && want[i].size == state.memory[i].size;
    if (!same) return Error("memory layout: the snapshot's regions differ from the VM's config");
  }
  if (state.chunks.memory_file_bytes != file_extent)
    return Error("memory chunks: the table covers " + num(state.chunks.memory_file_bytes) +
                 " bytes of memory file, the memory layout needs " + num(file_extent));
  if (expect.device_names) {
    std::vector<std::string> want = *expect.device_names, have;
    for (const DeviceState& device : state.devices) have.push_back(device.name);
    std::sort(want.begin(), want.end());
    std::sort(have.begin(), have.end());
    if (want != have) return Error("devices: the snapshot's devices differ from the VM's config");
  }
  return ok_status();
}

Result<SnapshotState> parse_body(std::span<const uint8_t> file, const Expectations& expect) {
  if (file.size() < kHeaderBytes + kTrailerBytes || file.size() > kMaxStateFileBytes)
    return Error("file size " + num(file.size()) + ": expected " + num(kHeaderBytes + kTrailerBytes) + " to " +
                 num(kMaxStateFileBytes) + " bytes");
  if (!std::equal(kMagic.begin(), kMagic.end(), file.begin() + kMagicOffset)) return Error("not a snapshot (bad magic)");
  const uint32_t version = *read_le<uint32_t>(file, kVersionOffset);
  if (version != kFormatVersion)
    return Error("format version " + num(version) + " is not supported (this build reads version " +
                 num(kFormatVersion) + ")");
  const uint32_t flags = *read_le<uint32_t>(file, kFlagsOffset);
  if (flags != 0) return Error("flags: unknown bits " + num(flags) + " (version 1 defines none)");
  if (*read_le<uint32_t>(file, kReservedOffset) != 0) return Error("header: reserved field is not 0");
  const uint64_t total = *read_le<uint64_t>(file, kTotalLengthOffset);
  if (total != file.size())
    return Error("total length: the header says " + num(total) + " bytes, the file has " + num(file.size()));
  Parsed parsed;
  auto vm_id = parse_header_vm_id(file.subspan(kVmIdOffset, kMaxVmIdBytes));
  if (!vm_id.ok()) return vm_id.error();
  parsed.state.vm_id = std::move(*vm_id);

  const uint32_t section_count = *read_le<uint32_t>(file, kSectionCountOffset);
  if (section_count > kMaxSections)
    return Error("section count " + num(section_count) + ": at most " + num(kMaxSections));
  const std::span<const uint8_t> body = file.first(file.size() - kTrailerBytes);
  uint64_t at = kHeaderBytes;
  for (uint32_t i = 0; i < section_count; ++i) {
    const std::string where = "section " + num(i);
    if (!range_within(at, kSectionHeaderBytes, body.size()))
      return Error(where + ": header runs past the end (" + num(body.size() - at) + " bytes left)");
    const uint32_t type = *read_le<uint32_t>(body, at);
    const uint32_t section_version = *read_le<uint32_t>(body, at + 4);
    const uint64_t length = *read_le<uint64_t>(body, at + 8);
    const std::string named = where + " (" + std::string(section_name(type)) + ")";
    if (section_name(type) == "unknown") return Error(where + ": unknown section type " + num(type));
    if (section_version != kSectionVersion)
      return Error(named + ": version " + num(section_version) + " is not supported (this build reads " +
                   num(kSectionVersion) + ")");
    at += kSectionHeaderBytes;
    if (!range_within(at, length, body.size()))
      return Error(named + ": length " + num(length) + " runs past the end (" + num(body.size() - at) +
                   " bytes left)");
    Status status = parse_section(type, body.subspan(at, length), parsed);
    if (!status.ok()) return status.error().wrap(named);
    at += length;
  }
  if (at != body.size()) return Error(num(body.size() - at) + " trailing bytes after the last section");
  BULWARK_TRY(check_against(parsed.state, parsed, expect));
  return std::move(parsed.state);
}

}  // namespace

Status verify_state_mac(std::span<const uint8_t> file, const StateKey& key) {
  if (file.size() < kHeaderBytes + kTrailerBytes || file.size() > kMaxStateFileBytes)
    return Error("snapshot state: file size " + num(file.size()) + ": expected " +
                 num(kHeaderBytes + kTrailerBytes) + " to " + num(kMaxStateFileBytes) + " bytes");
  const size_t body = file.size() - kTrailerBytes;
  auto mac = state_mac(file.first(body), key);
  if (!mac.ok()) return mac.error().wrap("snapshot state");
  if (!macs_equal(*mac, file.subspan(body)))
    return Error("snapshot state: HMAC does not verify under VM " + quoted(key.vm_id()) +
                 "'s key (tampered, truncated, or made for another VM or host key)");
  return ok_status();
}

Result<SnapshotState> parse_state(std::span<const uint8_t> file, const StateKey& key, const Expectations& expect) {
  if (key.vm_id() != expect.vm_id)
    return Error("snapshot state: the key is VM " + quoted(key.vm_id()) + "'s, the restoring VM expects " +
                 quoted(expect.vm_id));
  BULWARK_TRY(verify_state_mac(file, key));
  return parse_verified_state(file, expect);
}

Result<SnapshotState> parse_verified_state(std::span<const uint8_t> file, const Expectations& expect) {
  auto state = parse_body(file, expect);
  if (!state.ok()) return state.error().wrap("snapshot state");
  return state;
}

}  // namespace bulwark::snapshot

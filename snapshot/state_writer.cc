#include "snapshot/state_writer.h"

#include "bulwark/common/byte_reader.h"

namespace bulwark::snapshot {

namespace {

template <typename T>
void append_le(std::vector<uint8_t>& out, T value) {
  const size_t at = out.size();
  out.resize(at + sizeof(T));
  write_le<T>(out, at, value);
}

void append_bytes(std::vector<uint8_t>& out, std::span<const uint8_t> bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

std::span<const uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

}  // namespace

void StateWriter::add_raw_section(uint32_t type, uint32_t version, std::span<const uint8_t> payload) {
  append_le<uint32_t>(sections_, type);
  append_le<uint32_t>(sections_, version);
  append_le<uint64_t>(sections_, payload.size());
  append_bytes(sections_, payload);
  ++section_count_;
}

void StateWriter::add_vm_config(std::string_view json) {
  add_raw_section(static_cast<uint32_t>(SectionType::kVmConfig), kSectionVersion, as_bytes(json));
}

void StateWriter::add_vcpu(uint32_t index, std::span<const uint8_t> bytes) {
  std::vector<uint8_t> payload;
  append_le<uint32_t>(payload, index);
  append_le<uint32_t>(payload, 0);
  append_bytes(payload, bytes);
  add_raw_section(static_cast<uint32_t>(SectionType::kVcpu), kSectionVersion, payload);
}

void StateWriter::add_device(std::string_view name, std::span<const uint8_t> bytes) {
  std::vector<uint8_t> payload;
  append_le<uint32_t>(payload, static_cast<uint32_t>(name.size()));
  append_le<uint32_t>(payload, 0);
  append_bytes(payload, as_bytes(name));
  append_bytes(payload, bytes);
  add_raw_section(static_cast<uint32_t>(SectionType::kDevice), kSectionVersion, payload);
}

void StateWriter::add_memory_layout(std::span<const MemoryRegion> regions) {
  std::vector<uint8_t> payload;
  append_le<uint32_t>(payload, static_cast<uint32_t>(regions.size()));
  append_le<uint32_t>(payload, 0);
  for (const MemoryRegion& region : regions) {
    append_le<uint64_t>(payload, region.guest_address);
    append_le<uint64_t>(payload, region.size);
    append_le<uint64_t>(payload, region.file_offset);
  }
  add_raw_section(static_cast<uint32_t>(SectionType::kMemoryLayout), kSectionVersion, payload);
}

void StateWriter::add_chunk_table(const ChunkTable& table) {
  std::vector<uint8_t> payload;
  append_le<uint64_t>(payload, table.chunk_bytes);
  append_le<uint64_t>(payload, table.memory_file_bytes);
  append_le<uint64_t>(payload, table.macs.size());
  for (const Mac& mac : table.macs) append_bytes(payload, mac);
  add_raw_section(static_cast<uint32_t>(SectionType::kMemoryChunks), kSectionVersion, payload);
}

Result<std::vector<uint8_t>> StateWriter::finish(const StateKey& key) const {
  BULWARK_TRY(check_vm_id(vm_id_));
  if (key.vm_id() != vm_id_) return Error("snapshot state: the key is for another VM");
  std::vector<uint8_t> file(kHeaderBytes, 0);
  std::copy(kMagic.begin(), kMagic.end(), file.begin() + kMagicOffset);
  write_le<uint32_t>(file, kVersionOffset, format_version_);
  write_le<uint32_t>(file, kFlagsOffset, flags_);
  std::copy(vm_id_.begin(), vm_id_.end(), file.begin() + kVmIdOffset);
  write_le<uint32_t>(file, kSectionCountOffset, section_count_);
  append_bytes(file, sections_);
  file.resize(file.size() + kTrailerBytes, 0);
  write_le<uint64_t>(file, kTotalLengthOffset, file.size());
  BULWARK_TRY(sign_state(file, key));
  return file;
}

Result<std::vector<uint8_t>> write_state(const SnapshotState& state, const StateKey& key) {
  StateWriter writer(state.vm_id);
  writer.add_vm_config(state.vm_config_json);
  writer.add_memory_layout(state.memory);
  writer.add_chunk_table(state.chunks);
  for (const VcpuState& vcpu : state.vcpus) writer.add_vcpu(vcpu.index, vcpu.bytes);
  for (const DeviceState& device : state.devices) writer.add_device(device.name, device.bytes);
  return writer.finish(key);
}

}  // namespace bulwark::snapshot

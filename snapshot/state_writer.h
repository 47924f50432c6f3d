// Builds a signed snapshot state file (state_format.h) from state the launcher/monitor captured.
// A plain encoder: sections go out in the order they are added, nothing is checked beyond the
// VM id, and the parser judges the result -- so tests can also write files the parser refuses.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "bulwark/common/result.h"
#include "snapshot/state_format.h"

namespace bulwark::snapshot {

class StateWriter {
 public:
  explicit StateWriter(std::string vm_id) : vm_id_(std::move(vm_id)) {}

  void add_vm_config(std::string_view json);
  void add_vcpu(uint32_t index, std::span<const uint8_t> bytes);
  void add_device(std::string_view name, std::span<const uint8_t> bytes);
  void add_memory_layout(std::span<const MemoryRegion> regions);
  void add_chunk_table(const ChunkTable& table);
  // Any section as it is, e.g. a type or version this build does not know.
  void add_raw_section(uint32_t type, uint32_t version, std::span<const uint8_t> payload);
  // The header's format version and flags (tests of what other versions meet).
  void set_header(uint32_t format_version, uint32_t flags) {
    format_version_ = format_version;
    flags_ = flags;
  }

  // The whole file, MAC included. The key must be the VM id's.
  Result<std::vector<uint8_t>> finish(const StateKey& key) const;

 private:
  std::string vm_id_;
  uint32_t format_version_ = kFormatVersion;
  uint32_t flags_ = 0;
  uint32_t section_count_ = 0;
  std::vector<uint8_t> sections_;
};

// The canonical file of a parsed state: VM config, memory layout, chunk table, vCPUs, devices.
Result<std::vector<uint8_t>> write_state(const SnapshotState& state, const StateKey& key);

}  // namespace bulwark::snapshot

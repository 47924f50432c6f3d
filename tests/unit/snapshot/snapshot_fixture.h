// A small, valid snapshot for the tests: VM "vm-1", two vCPUs, two devices, 64 KiB of guest
// memory in two regions, chunked in 4 KiB.
#pragma once

#include <cstdint>
#include <numeric>
#include <vector>

#include <gtest/gtest.h>

#include "snapshot/memory_chunks.h"
#include "snapshot/state_format.h"
#include "snapshot/state_key.h"
#include "snapshot/state_parser.h"
#include "snapshot/state_writer.h"

namespace bulwark::snapshot::testing {

inline std::vector<uint8_t> host_key(uint8_t fill = 0x11) { return std::vector<uint8_t>(32, fill); }

inline StateKey key_for(const char* vm_id, uint8_t fill = 0x11) {
  auto key = StateKey::derive(host_key(fill), vm_id);
  EXPECT_TRUE(key.ok()) << key.error().message();
  return std::move(*key);
}

inline std::vector<uint8_t> memory_file() {
  std::vector<uint8_t> memory(64 * 1024);
  for (size_t i = 0; i < memory.size(); ++i) memory[i] = static_cast<uint8_t>(i * 7 + i / 4096);
  return memory;
}

inline SnapshotState sample_state(const StateKey& key) {
  SnapshotState state;
  state.vm_id = key.vm_id();
  state.vm_config_json = R"({"machine-config":{"mem_size_mib":1,"vcpu_count":2}})";
  state.vcpus = {{0, {1, 2, 3}}, {1, {4, 5, 6, 7}}};
  state.devices = {{"blk0", {9, 9}}, {"net0", {}}};
  state.memory = {{0, 32 * 1024, 0}, {1 << 20, 32 * 1024, 32 * 1024}};
  state.chunks = *build_chunk_table(key, memory_file(), 4096);
  return state;
}

inline Expectations sample_expectations(const char* vm_id = "vm-1") {
  Expectations expect;
  expect.vm_id = vm_id;
  expect.vcpu_count = 2;
  expect.memory_bytes = 64 * 1024;
  return expect;
}

inline std::vector<uint8_t> sample_file(const StateKey& key) {
  auto file = write_state(sample_state(key), key);
  EXPECT_TRUE(file.ok()) << file.error().message();
  return std::move(*file);
}

// The refusal's message; fails the test when the file is accepted.
inline std::string refusal(std::span<const uint8_t> file, const StateKey& key, const Expectations& expect) {
  auto state = parse_state(file, key, expect);
  if (state.ok()) {
    ADD_FAILURE() << "accepted";
    return "";
  }
  return state.error().message();
}

}  // namespace bulwark::snapshot::testing

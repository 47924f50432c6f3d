// Writes the snapshot_state fuzzer's seed corpus (fuzz/corpus/snapshot_state/) with the state
// writer: valid snapshots of the fuzzer's test VM in several shapes, and files one lie away from
// valid (each refused by a different body check). Each seed is the control byte, then the file
// without its trailer (the harness signs it). Usage: snapshot_state_seeds DIR
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "fuzz/seed_file.h"
#include "fuzz/snapshot_state_fuzz.h"
#include "snapshot/memory_chunks.h"
#include "snapshot/state_writer.h"

namespace {

using namespace bulwark::snapshot;

std::vector<uint8_t> memory_file(uint64_t bytes) {
  std::vector<uint8_t> memory(bytes);
  for (size_t i = 0; i < memory.size(); ++i) memory[i] = static_cast<uint8_t>(i * 13 + i / 4096);
  return memory;
}

struct Shape {
  std::vector<MemoryRegion> layout = fuzz::seed_layout();
  uint64_t chunk_bytes = 4096;
  uint64_t memory_file_bytes = fuzz::kMemoryBytes;
  std::vector<uint32_t> vcpus = {0, 1};
  size_t vcpu_state_bytes = 16;
  std::vector<std::string> devices = {"blk0", "net0"};
  uint32_t version = kFormatVersion;
  uint32_t flags = 0;
  std::function<void(StateWriter&)> extra = nullptr;
};

std::vector<uint8_t> write(const Shape& shape) {
  const StateKey& key = fuzz::test_key();
  StateWriter writer(fuzz::kVmId);
  writer.set_header(shape.version, shape.flags);
  writer.add_vm_config(R"({"machine-config":{"vcpu_count":2,"mem_size_mib":1}})");
  writer.add_memory_layout(shape.layout);
  writer.add_chunk_table(*build_chunk_table(key, memory_file(shape.memory_file_bytes), shape.chunk_bytes));
  for (uint32_t index : shape.vcpus) writer.add_vcpu(index, std::vector<uint8_t>(shape.vcpu_state_bytes, uint8_t(index + 1)));
  for (const std::string& name : shape.devices) writer.add_device(name, std::vector<uint8_t>(4, 0xd0));
  if (shape.extra) shape.extra(writer);
  return *writer.finish(key);
}

using bulwark::fuzz_seeds::patched;

// The fuzzer's input: its control byte, then the file without the MAC it signs itself.
bool save(const std::string& dir, const std::string& name, uint8_t control, const std::vector<uint8_t>& file) {
  std::vector<uint8_t> seed{control};
  seed.insert(seed.end(), file.begin(), file.end() - std::min(file.size(), kTrailerBytes));
  return bulwark::fuzz_seeds::write_seed(dir, name, seed);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const uint8_t exact = fuzz::kExpectLayoutAndDevices;
  const std::vector<uint8_t> base = write(Shape{});
  bool ok = true;
  ok &= save(dir, "valid", 0, base);
  ok &= save(dir, "valid-exact-layout", exact, base);
  ok &= save(dir, "valid-kept-total-length", fuzz::kKeepTotalLength, base);
  ok &= save(dir, "valid-one-2mib-chunk", 0, write(Shape{.chunk_bytes = 2 << 20}));
  ok &= save(dir, "valid-one-region", 0, write(Shape{.layout = {{0, 64 * 1024, 0}}}));
  ok &= save(dir, "valid-no-devices", 0, write(Shape{.devices = {}}));
  ok &= save(dir, "valid-vcpus-reversed", exact, write(Shape{.vcpus = {1, 0}, .devices = {"net0", "blk0"}}));
  ok &= save(dir, "valid-large-vcpu-state", 0, write(Shape{.vcpu_state_bytes = 512}));
  ok &= save(dir, "valid-sparse-file", 0,
             write(Shape{.layout = {{0, 32 * 1024, 64 * 1024}, {1 << 20, 32 * 1024, 0}}, .memory_file_bytes = 96 * 1024}));
  ok &= save(dir, "version-2", 0, write(Shape{.version = 2}));
  ok &= save(dir, "flags", 0, write(Shape{.flags = 1}));
  ok &= save(dir, "unknown-section-type", 0,
             write(Shape{.extra = [](StateWriter& w) { w.add_raw_section(6, 1, std::vector<uint8_t>(8)); }}));
  ok &= save(dir, "section-version-2", 0,
             write(Shape{.extra = [](StateWriter& w) { w.add_raw_section(2, 2, std::vector<uint8_t>(8)); }}));
  ok &= save(dir, "duplicate-config", 0, write(Shape{.extra = [](StateWriter& w) { w.add_vm_config("{}"); }}));
  ok &= save(dir, "duplicate-layout", 0,
             write(Shape{.extra = [](StateWriter& w) { w.add_memory_layout(fuzz::seed_layout()); }}));
  ok &= save(dir, "duplicate-vcpu", 0, write(Shape{.vcpus = {0, 1, 1}}));
  ok &= save(dir, "duplicate-device", 0, write(Shape{.devices = {"blk0", "blk0"}}));
  ok &= save(dir, "three-vcpus", 0, write(Shape{.vcpus = {0, 1, 2}}));
  ok &= save(dir, "vcpu-index-gap", 0, write(Shape{.vcpus = {0, 7}}));
  ok &= save(dir, "memory-128k", 0,
             write(Shape{.layout = {{0, 128 * 1024, 0}}, .memory_file_bytes = 128 * 1024}));
  ok &= save(dir, "regions-overlap", 0, write(Shape{.layout = {{0, 48 * 1024, 0}, {32 * 1024, 16 * 1024, 48 * 1024}}}));
  ok &= save(dir, "regions-share-file", 0,
             write(Shape{.layout = {{0, 32 * 1024, 0}, {1 << 20, 32 * 1024, 16 * 1024}}}));
  ok &= save(dir, "region-unaligned", 0, write(Shape{.layout = {{0, 32 * 1024 + 1, 0}, {1 << 20, 32 * 1024 - 1, 32 * 1024 + 1}}}));
  ok &= save(dir, "chunks-cover-less", 0, write(Shape{.memory_file_bytes = 32 * 1024}));
  ok &= save(dir, "device-bad-name", 0, write(Shape{.devices = {"BLK/0"}}));
  ok &= save(dir, "other-layout", exact, write(Shape{.layout = {{0, 64 * 1024, 0}}}));
  const size_t first = kHeaderBytes;  // the vm config section
  ok &= save(dir, "section-length-huge", 0, patched<uint64_t>(base, first + 8, ~uint64_t{0}));
  ok &= save(dir, "section-count-plus-one", 0, patched<uint32_t>(base, kSectionCountOffset, 8));
  ok &= save(dir, "section-count-minus-one", 0, patched<uint32_t>(base, kSectionCountOffset, 6));
  ok &= save(dir, "total-length-lies", fuzz::kKeepTotalLength, patched<uint64_t>(base, kTotalLengthOffset, 4096));
  ok &= save(dir, "vm-id-other", 0, patched<uint8_t>(base, kVmIdOffset, 'g'));
  ok &= save(dir, "empty-layout", 0, write(Shape{.layout = {}}));
  ok &= save(dir, "header-only", 0, *StateWriter(fuzz::kVmId).finish(fuzz::test_key()));
  ok &= save(dir, "short", 0, std::vector<uint8_t>(base.begin(), base.begin() + 40));
  return ok ? 0 : 1;
}

// Bodies that lie under a valid MAC: what a holder of the VM's key (a buggy writer, or a
// monitor that was escaped into and asked to save) could sign. The tests re-sign each lie with
// the right key, so only the parser's body checks stand between it and the restoring monitor.
#include <cstring>
#include <functional>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "snapshot_fixture.h"

namespace bulwark::snapshot {
namespace {

using ::testing::HasSubstr;
using testing::key_for;
using testing::refusal;
using testing::sample_expectations;
using testing::sample_file;
using testing::sample_state;

template <typename T>
std::vector<uint8_t> lie(std::vector<uint8_t> file, size_t offset, T value, const StateKey& key) {
  std::memcpy(file.data() + offset, &value, sizeof(T));
  EXPECT_TRUE(sign_state(file, key).ok());
  return file;
}

// The start of each section of a file the writer made.
std::vector<size_t> section_offsets(const std::vector<uint8_t>& file) {
  std::vector<size_t> offsets;
  for (size_t at = kHeaderBytes; at + kTrailerBytes < file.size();) {
    offsets.push_back(at);
    uint64_t length = 0;
    std::memcpy(&length, file.data() + at + 8, 8);
    at += kSectionHeaderBytes + length;
  }
  return offsets;
}

std::string refusal_of_sections(const std::function<void(StateWriter&)>& add, const StateKey& key) {
  StateWriter writer("vm-1");
  add(writer);
  auto file = writer.finish(key);
  EXPECT_TRUE(file.ok());
  return refusal(*file, key, sample_expectations());
}

TEST(StateLies, TheUnchangedFileParses) {
  const StateKey key = key_for("vm-1");
  std::vector<uint8_t> file = sample_file(key);
  ASSERT_TRUE(sign_state(file, key).ok());
  EXPECT_TRUE(parse_state(file, key, sample_expectations()).ok());
  EXPECT_EQ(section_offsets(file).size(), 7u);
}

TEST(StateLies, SectionLengthPastTheEnd) {
  const StateKey key = key_for("vm-1");
  const std::vector<uint8_t> file = sample_file(key);
  const size_t first = section_offsets(file)[0];
  EXPECT_THAT(refusal(lie<uint64_t>(file, first + 8, ~uint64_t{0}, key), key, sample_expectations()),
              HasSubstr("section 0 (vm config): length 18446744073709551615 runs past the end"));
  const size_t left = file.size() - kTrailerBytes - first - kSectionHeaderBytes;
  EXPECT_THAT(refusal(lie<uint64_t>(file, first + 8, left + 1, key), key, sample_expectations()),
              HasSubstr("runs past the end (" + std::to_string(left) + " bytes left)"));
  const size_t last = section_offsets(file).back();
  EXPECT_THAT(refusal(lie<uint64_t>(file, last + 8, 1 << 20, key), key, sample_expectations()),
              HasSubstr("section 6 (device): length 1048576 runs past the end"));
}

TEST(StateLies, SectionCountAndTotalLength) {
  const StateKey key = key_for("vm-1");
  const std::vector<uint8_t> file = sample_file(key);
  EXPECT_THAT(refusal(lie<uint32_t>(file, kSectionCountOffset, 8, key), key, sample_expectations()),
              HasSubstr("section 7: header runs past the end (0 bytes left)"));
  EXPECT_THAT(refusal(lie<uint32_t>(file, kSectionCountOffset, 6, key), key, sample_expectations()),
              HasSubstr("trailing bytes after the last section"));
  EXPECT_THAT(refusal(lie<uint32_t>(file, kSectionCountOffset, 0xffffffff, key), key, sample_expectations()),
              HasSubstr("section count 4294967295: at most 4096"));
  EXPECT_THAT(refusal(lie<uint64_t>(file, kTotalLengthOffset, file.size() + 1, key), key, sample_expectations()),
              HasSubstr("total length: the header says " + std::to_string(file.size() + 1)));
  EXPECT_THAT(refusal(lie<uint32_t>(file, kReservedOffset, 1, key), key, sample_expectations()),
              HasSubstr("header: reserved field is not 0"));
  EXPECT_THAT(refusal(lie<uint8_t>(file, kMagicOffset, 'X', key), key, sample_expectations()),
              HasSubstr("bad magic"));
}

TEST(StateLies, HeaderVmId) {
  const StateKey key = key_for("vm-1");
  const std::vector<uint8_t> file = sample_file(key);
  EXPECT_THAT(refusal(lie<uint8_t>(file, kVmIdOffset + 3, '2', key), key, sample_expectations()),
              HasSubstr("VM id: the snapshot was made for \"vm-2\", expected \"vm-1\""));
  EXPECT_THAT(refusal(lie<uint8_t>(file, kVmIdOffset + 10, 'x', key), key, sample_expectations()),
              HasSubstr("VM id: bytes after its end are not 0"));
  EXPECT_THAT(refusal(lie<uint8_t>(file, kVmIdOffset + 2, '/', key), key, sample_expectations()),
              HasSubstr("VM id: expected 1 to 64 characters"));
  EXPECT_THAT(refusal(lie<uint8_t>(file, kVmIdOffset, 0, key), key, sample_expectations()),
              HasSubstr("VM id: bytes after its end are not 0"));
}

TEST(StateLies, SectionPayloads) {
  const StateKey key = key_for("vm-1");
  const std::vector<uint8_t> file = sample_file(key);
  const std::vector<size_t> at = section_offsets(file);
  // at: 0 config, 1 layout, 2 chunks, 3-4 vCPUs, 5-6 devices; payloads start 16 bytes in.
  EXPECT_THAT(refusal(lie<uint32_t>(file, at[3] + 20, 1, key), key, sample_expectations()),
              HasSubstr("section 3 (vcpu): reserved field after the vcpu index is not 0"));
  EXPECT_THAT(refusal(lie<uint32_t>(file, at[5] + 16, 100, key), key, sample_expectations()),
              HasSubstr("section 5 (device): device name length 100 runs past the section's 14 bytes"));
  EXPECT_THAT(refusal(lie<uint32_t>(file, at[1] + 16, 3, key), key, sample_expectations()),
              HasSubstr("memory layout: 3 regions take 80 bytes, the section has 56"));
  EXPECT_THAT(refusal(lie<uint32_t>(file, at[1] + 16, 0, key), key, sample_expectations()),
              HasSubstr("memory layout: expected 1 to 64 regions, got 0"));
  EXPECT_THAT(refusal(lie<uint64_t>(file, at[2] + 16 + 16, 15, key), key, sample_expectations()),
              HasSubstr("chunk count: 15 chunks for a memory file of 65536 bytes"));
  EXPECT_THAT(refusal(lie<uint64_t>(file, at[2] + 16, 8192, key), key, sample_expectations()),
              HasSubstr("chunk count: 16 chunks for a memory file of 65536 bytes in chunks of 8192"));
  EXPECT_THAT(refusal(lie<uint64_t>(file, at[2] + 16, 5000, key), key, sample_expectations()),
              HasSubstr("chunk size: expected a power of two"));
}

TEST(StateLies, ShortPayloads) {
  const StateKey key = key_for("vm-1");
  for (uint32_t type : {2u, 3u, 4u}) {
    EXPECT_THAT(refusal_of_sections([&](StateWriter& w) { w.add_raw_section(type, 1, std::vector<uint8_t>(7)); }, key),
                HasSubstr("payload of 7 bytes is shorter than its 8-byte header"));
  }
  EXPECT_THAT(refusal_of_sections([&](StateWriter& w) { w.add_raw_section(5, 1, std::vector<uint8_t>(23)); }, key),
              HasSubstr("memory chunks: payload of 23 bytes is shorter than its 24-byte header"));
  EXPECT_THAT(refusal_of_sections([&](StateWriter& w) { w.add_vm_config(""); }, key),
              HasSubstr("vm config: expected 1 to 1048576 bytes, got 0"));
  EXPECT_THAT(refusal_of_sections([&](StateWriter& w) { w.add_vcpu(1024, {}); }, key),
              HasSubstr("vcpu index 1024: at most 1024 vCPUs"));
}

TEST(StateLies, MemoryRegions) {
  const StateKey key = key_for("vm-1");
  const SnapshotState state = sample_state(key);
  auto layout_refusal = [&](std::vector<MemoryRegion> regions) {
    return refusal_of_sections([&](StateWriter& w) { w.add_memory_layout(regions); }, key);
  };
  EXPECT_THAT(layout_refusal({{0, 0, 0}}), HasSubstr("memory region 0: size 0"));
  EXPECT_THAT(layout_refusal({{0, 4097, 0}}), HasSubstr("memory region 0: guest address, size and file offset"));
  EXPECT_THAT(layout_refusal({{~uint64_t{0} - 4095, 8192, 0}}), HasSubstr("guest address + size overflows"));
  EXPECT_THAT(layout_refusal({{0, 8192, ~uint64_t{0} - 4095}}), HasSubstr("file offset + size overflows"));
  EXPECT_THAT(layout_refusal({{0, 8192, 0}, {4096, 4096, 8192}}),
              HasSubstr("memory region 1: guest address not above the end of region 0"));
  EXPECT_THAT(layout_refusal({{8192, 4096, 0}, {0, 4096, 4096}}),
              HasSubstr("memory region 1: guest address not above the end of region 0"));
  EXPECT_THAT(layout_refusal({{0, 8192, 4096}, {1 << 20, 8192, 0}}),
              HasSubstr("memory layout: two regions overlap in the memory file"));
  // A layout that fits but a chunk table covering another file size.
  StateWriter writer("vm-1");
  writer.add_vm_config(state.vm_config_json);
  writer.add_memory_layout(std::vector<MemoryRegion>{{0, 32 * 1024, 0}, {1 << 20, 32 * 1024, 64 * 1024}});
  writer.add_chunk_table(state.chunks);
  for (const VcpuState& vcpu : state.vcpus) writer.add_vcpu(vcpu.index, vcpu.bytes);
  auto file = writer.finish(key);
  ASSERT_TRUE(file.ok());
  EXPECT_THAT(refusal(*file, key, sample_expectations()),
              HasSubstr("memory chunks: the table covers 65536 bytes of memory file, the memory layout needs 98304"));
}

}  // namespace
}  // namespace bulwark::snapshot

// The state file as a tampering host sees it: anything changed, cut short or made under another
// key is refused by the MAC before parsing; files the writer signed but that do not fit the
// restoring VM are refused by the body checks, each naming the field.
#include <cstring>

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

TEST(StateFile, RoundTrips) {
  const StateKey key = key_for("vm-1");
  const std::vector<uint8_t> file = sample_file(key);
  auto state = parse_state(file, key, sample_expectations());
  ASSERT_TRUE(state.ok()) << state.error().message();
  EXPECT_EQ(*state, sample_state(key));
  // The monitor's half (the launcher checked the MAC) reads the same.
  auto verified = parse_verified_state(file, sample_expectations());
  ASSERT_TRUE(verified.ok()) << verified.error().message();
  EXPECT_EQ(*verified, *state);
}

TEST(StateFile, StartsWithTheDocumentedHeader) {
  const StateKey key = key_for("vm-1");
  const std::vector<uint8_t> file = sample_file(key);
  ASSERT_GE(file.size(), kHeaderBytes + kTrailerBytes);
  EXPECT_EQ(std::string(file.begin(), file.begin() + 6), "BWSNAP");
  EXPECT_EQ(file[kVersionOffset], 1);
  EXPECT_EQ(std::string(file.begin() + kVmIdOffset, file.begin() + kVmIdOffset + 4), "vm-1");
  EXPECT_EQ(file[kSectionCountOffset], 7);  // config, layout, chunks, 2 vCPUs, 2 devices
  uint64_t total = 0;
  std::memcpy(&total, file.data() + kTotalLengthOffset, 8);
  EXPECT_EQ(total, file.size());
}

TEST(StateFile, VcpusComeBackInIndexOrder) {
  const StateKey key = key_for("vm-1");
  SnapshotState state = sample_state(key);
  StateWriter writer("vm-1");
  writer.add_vcpu(1, state.vcpus[1].bytes);
  writer.add_vm_config(state.vm_config_json);
  writer.add_vcpu(0, state.vcpus[0].bytes);
  writer.add_memory_layout(state.memory);
  writer.add_chunk_table(state.chunks);
  auto file = writer.finish(key);
  ASSERT_TRUE(file.ok());
  auto parsed = parse_state(*file, key, sample_expectations());
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  ASSERT_EQ(parsed->vcpus.size(), 2u);
  EXPECT_EQ(parsed->vcpus[0], state.vcpus[0]);
  EXPECT_EQ(parsed->vcpus[1], state.vcpus[1]);
}

TEST(StateFile, EverySingleBitFlipIsRefused) {
  const StateKey key = key_for("vm-1");
  const std::vector<uint8_t> file = sample_file(key);
  for (size_t bit = 0; bit < file.size() * 8; ++bit) {
    std::vector<uint8_t> flipped = file;
    flipped[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    auto state = parse_state(flipped, key, sample_expectations());
    ASSERT_FALSE(state.ok()) << "bit " << bit << " flipped and accepted";
    ASSERT_THAT(state.error().message(), HasSubstr("HMAC does not verify")) << "bit " << bit;
  }
}

TEST(StateFile, EveryTruncationIsRefused) {
  const StateKey key = key_for("vm-1");
  const std::vector<uint8_t> file = sample_file(key);
  for (size_t length = 0; length < file.size(); ++length)
    ASSERT_FALSE(parse_state(std::span(file).first(length), key, sample_expectations()).ok())
        << "truncated to " << length << " bytes and accepted";
  EXPECT_THAT(refusal(std::span(file).first(20), key, sample_expectations()), HasSubstr("file size 20"));
  std::vector<uint8_t> longer = file;
  longer.push_back(0);
  EXPECT_THAT(refusal(longer, key, sample_expectations()), HasSubstr("HMAC does not verify"));
}

TEST(StateFile, ForeignKeysAreRefused) {
  const StateKey key = key_for("vm-1");
  const std::vector<uint8_t> file = sample_file(key);
  // Another VM's key on the same host (what a guest that escaped into VM 2's monitor holds).
  const StateKey other_vm = key_for("vm-2");
  EXPECT_THAT(refusal(file, other_vm, sample_expectations("vm-2")), HasSubstr("HMAC does not verify"));
  // The same VM id under another host's key.
  const StateKey other_host = key_for("vm-1", 0x22);
  EXPECT_THAT(refusal(file, other_host, sample_expectations()), HasSubstr("HMAC does not verify"));
  // A caller mixing up which VM is restored.
  EXPECT_THAT(refusal(file, key, sample_expectations("vm-2")), HasSubstr("the key is VM \"vm-1\"'s"));
}

TEST(StateFile, AnotherFormatVersionIsRefusedWithAMessage) {
  const StateKey key = key_for("vm-1");
  const SnapshotState state = sample_state(key);
  for (uint32_t version : {0u, 2u, 0xffffffffu}) {
    StateWriter writer("vm-1");
    writer.set_header(version, 0);
    writer.add_vm_config(state.vm_config_json);
    auto file = writer.finish(key);
    ASSERT_TRUE(file.ok());
    EXPECT_THAT(refusal(*file, key, sample_expectations()),
                HasSubstr("format version " + std::to_string(version) +
                          " is not supported (this build reads version 1)"));
  }
}

TEST(StateFile, UnknownFlagsAreRefused) {
  const StateKey key = key_for("vm-1");
  StateWriter writer("vm-1");
  writer.set_header(kFormatVersion, 4);
  auto file = writer.finish(key);
  ASSERT_TRUE(file.ok());
  EXPECT_THAT(refusal(*file, key, sample_expectations()), HasSubstr("flags: unknown bits 4"));
}

// A writer holding the sample state's sections; `skip` leaves one kind out.
StateWriter sample_writer(const StateKey& key, SectionType skip = SectionType{0}) {
  const SnapshotState state = sample_state(key);
  StateWriter writer(state.vm_id);
  if (skip != SectionType::kVmConfig) writer.add_vm_config(state.vm_config_json);
  if (skip != SectionType::kMemoryLayout) writer.add_memory_layout(state.memory);
  if (skip != SectionType::kMemoryChunks) writer.add_chunk_table(state.chunks);
  if (skip != SectionType::kVcpu)
    for (const VcpuState& vcpu : state.vcpus) writer.add_vcpu(vcpu.index, vcpu.bytes);
  if (skip != SectionType::kDevice)
    for (const DeviceState& device : state.devices) writer.add_device(device.name, device.bytes);
  return writer;
}

std::string refusal_of(const StateWriter& writer, const StateKey& key,
                       const Expectations& expect = sample_expectations()) {
  auto file = writer.finish(key);
  EXPECT_TRUE(file.ok());
  return refusal(*file, key, expect);
}

TEST(StateFile, UnknownSectionTypesAndVersionsAreRefused) {
  const StateKey key = key_for("vm-1");
  StateWriter unknown_type = sample_writer(key);
  unknown_type.add_raw_section(6, 1, std::vector<uint8_t>{1, 2});
  EXPECT_THAT(refusal_of(unknown_type, key), HasSubstr("section 7: unknown section type 6"));
  StateWriter unknown_version = sample_writer(key);
  unknown_version.add_raw_section(static_cast<uint32_t>(SectionType::kDevice), 2, std::vector<uint8_t>(12));
  EXPECT_THAT(refusal_of(unknown_version, key),
              HasSubstr("section 7 (device): version 2 is not supported (this build reads 1)"));
}

TEST(StateFile, DuplicatesAreRefused) {
  const StateKey key = key_for("vm-1");
  const SnapshotState state = sample_state(key);
  StateWriter config = sample_writer(key);
  config.add_vm_config("{}");
  EXPECT_THAT(refusal_of(config, key), HasSubstr("a second vm config section"));
  StateWriter layout = sample_writer(key);
  layout.add_memory_layout(state.memory);
  EXPECT_THAT(refusal_of(layout, key), HasSubstr("a second memory layout section"));
  StateWriter chunks = sample_writer(key);
  chunks.add_chunk_table(state.chunks);
  EXPECT_THAT(refusal_of(chunks, key), HasSubstr("a second memory chunks section"));
  StateWriter vcpu = sample_writer(key);
  vcpu.add_vcpu(1, {});
  EXPECT_THAT(refusal_of(vcpu, key), HasSubstr("vcpu index 1 appears twice"));
  StateWriter device = sample_writer(key);
  device.add_device("net0", {});
  EXPECT_THAT(refusal_of(device, key), HasSubstr("device \"net0\" appears twice"));
}

TEST(StateFile, MissingSectionsAreRefused) {
  const StateKey key = key_for("vm-1");
  EXPECT_THAT(refusal_of(sample_writer(key, SectionType::kVmConfig), key), HasSubstr("no vm config section"));
  EXPECT_THAT(refusal_of(sample_writer(key, SectionType::kMemoryLayout), key),
              HasSubstr("no memory layout section"));
  EXPECT_THAT(refusal_of(sample_writer(key, SectionType::kMemoryChunks), key),
              HasSubstr("no memory chunks section"));
  EXPECT_THAT(refusal_of(sample_writer(key, SectionType::kVcpu), key),
              HasSubstr("vCPU count: the snapshot has 0, the VM's config has 2"));
}

TEST(StateFile, MismatchedVcpuCountIsRefused) {
  const StateKey key = key_for("vm-1");
  const std::vector<uint8_t> file = sample_file(key);
  Expectations expect = sample_expectations();
  expect.vcpu_count = 4;
  EXPECT_THAT(refusal(file, key, expect), HasSubstr("vCPU count: the snapshot has 2, the VM's config has 4"));
  expect.vcpu_count = 1;
  EXPECT_THAT(refusal(file, key, expect), HasSubstr("vCPU count: the snapshot has 2, the VM's config has 1"));
  // Two vCPUs, but numbered 0 and 5.
  StateWriter gap = sample_writer(key, SectionType::kVcpu);
  gap.add_vcpu(0, {});
  gap.add_vcpu(5, {});
  EXPECT_THAT(refusal_of(gap, key), HasSubstr("vcpu index 5: the VM has 2 vCPUs"));
}

TEST(StateFile, MismatchedMemoryIsRefused) {
  const StateKey key = key_for("vm-1");
  const std::vector<uint8_t> file = sample_file(key);
  Expectations expect = sample_expectations();
  expect.memory_bytes = 128 * 1024;
  EXPECT_THAT(refusal(file, key, expect),
              HasSubstr("memory size: the snapshot has 65536 bytes, the VM's config has 131072"));
  expect = sample_expectations();
  expect.memory_layout = std::vector<MemoryRegion>{{0, 64 * 1024, 0}};
  EXPECT_THAT(refusal(file, key, expect), HasSubstr("memory layout: the snapshot's regions differ"));
  expect.memory_layout = std::vector<MemoryRegion>{{0, 32 * 1024, 0}, {1 << 20, 32 * 1024, 0}};
  EXPECT_TRUE(parse_state(file, key, expect).ok()) << "file offsets are the writer's choice";
}

TEST(StateFile, MismatchedDevicesAreRefused) {
  const StateKey key = key_for("vm-1");
  const std::vector<uint8_t> file = sample_file(key);
  Expectations expect = sample_expectations();
  expect.device_names = std::vector<std::string>{"net0", "blk0"};
  EXPECT_TRUE(parse_state(file, key, expect).ok());
  expect.device_names = std::vector<std::string>{"net0"};
  EXPECT_THAT(refusal(file, key, expect), HasSubstr("devices: the snapshot's devices differ"));
  StateWriter bad_name = sample_writer(key);
  bad_name.add_device("../x", {});
  EXPECT_THAT(refusal_of(bad_name, key), HasSubstr("device name: expected 1 to 32"));
}

}  // namespace
}  // namespace bulwark::snapshot

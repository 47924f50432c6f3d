// The snapshot state parser (snapshot/state_parser) past its MAC: a snapshot file is the host's
// bytes, and the MAC stops a forger without the VM's key, but not a holder of it (a buggy writer,
// an escaped monitor asked to save), so the body checks behind the MAC are what is fuzzed here.
// Input: a control byte (snapshot_state_fuzz.h: bit 0 keep the total-length field as given,
// else it is patched to the real size; bit 1 also expect the seeds' layout and devices), then
// the state file without its 32-byte trailer. The harness appends the trailer signed with a
// fixed test key, so every input gets past verify_state_mac and into the body checks.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "fuzz/snapshot_state_fuzz.h"
#include "snapshot/memory_chunks.h"
#include "snapshot/state_parser.h"
#include "snapshot/state_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bulwark::snapshot;
  if (size < 1) return 0;
  const uint8_t control = data[0];
  std::vector<uint8_t> file(data + 1, data + size);
  file.resize(file.size() + kTrailerBytes, 0);
  if (!(control & fuzz::kKeepTotalLength) && file.size() >= kHeaderBytes) {
    const uint64_t total = file.size();
    std::memcpy(file.data() + kTotalLengthOffset, &total, sizeof(total));
  }
  const StateKey& key = fuzz::test_key();
  if (!sign_state(file, key).ok()) std::abort();
  const Expectations expect = fuzz::expectations(control);

  auto state = parse_state(file, key, expect);
  if (!state.ok()) return 0;
  // What the checks promise the restoring monitor.
  if (state->vm_id != fuzz::kVmId || state->vcpus.size() != fuzz::kVcpus) std::abort();
  for (size_t i = 0; i < state->vcpus.size(); ++i)
    if (state->vcpus[i].index != i) std::abort();
  uint64_t memory = 0;
  for (const MemoryRegion& region : state->memory) memory += region.size;
  if (memory != fuzz::kMemoryBytes) std::abort();
  if (!check_chunk_geometry(state->chunks.chunk_bytes, state->chunks.memory_file_bytes,
                            state->chunks.macs.size()).ok())
    std::abort();
  // The canonical rewrite reads back the same.
  auto rewritten = write_state(*state, key);
  if (!rewritten.ok()) std::abort();
  auto again = parse_state(*rewritten, key, expect);
  if (!again.ok() || !(*again == *state)) std::abort();
  // A loader's first chunk check on bytes the table did not MAC: refused, never a crash.
  auto extent = chunk_extent(state->chunks, 0);
  if (!extent.ok()) std::abort();
  const std::vector<uint8_t> chunk(extent->length, 0);
  (void)ChunkVerifier(key, state->chunks).verify_chunk(0, chunk);
  return 0;
}

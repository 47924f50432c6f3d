// Writes the attestation_event_log fuzzer's seed corpus (fuzz/corpus/attestation_event_log/)
// with the event log writer: launch logs in several shapes, and logs one lie away from valid
// (each refused by a different check). Usage: attestation_event_log_seeds DIR
#include <cstdio>
#include <string>
#include <vector>

#include "attestation/event_log_writer.h"
#include "attestation/launch_events.h"
#include "fuzz/seed_file.h"

namespace {

using namespace bulwark::attestation;

std::vector<uint8_t> bytes_of(std::string_view text) { return {text.begin(), text.end()}; }

std::vector<uint8_t> launch_log(size_t isolation_items) {
  EventLogWriter log;
  bool ok = measure_kernel(log, bytes_of("kernel image")).ok() && measure_initrd(log, bytes_of("initrd")).ok() &&
            measure_command_line(log, "console=ttyS0 reboot=k panic=1").ok();
  for (size_t i = 0; i < isolation_items; ++i)
    ok = ok && measure_isolation_item(log, "binary dev-blk-" + std::to_string(i), bytes_of("ELF")).ok();
  if (!ok) std::abort();
  return log.bytes();
}

using bulwark::fuzz_seeds::patched;

bool save(const std::string& dir, const std::string& name, const std::vector<uint8_t>& log) {
  return bulwark::fuzz_seeds::write_seed(dir, name, log);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  constexpr size_t header = 69, first = header;  // the first event follows the 69-byte header
  const std::vector<uint8_t> base = launch_log(2);
  bool ok = true;
  ok &= save(dir, "header-only", EventLogWriter().bytes());
  ok &= save(dir, "launch", base);
  ok &= save(dir, "launch-boot-only", launch_log(0));
  ok &= save(dir, "launch-many-items", launch_log(12));
  {
    EventLogWriter log;
    const std::vector<uint8_t> four(4, 0);
    ok &= log.add(7, EventType::kSeparator, four, four).ok();
    ok &= log.add(23, EventType::kAction, bytes_of("action"), four).ok();
    ok &= log.add(0, EventType::kEventTag, encode_tagged_event(1, four), four).ok();
    ok &= log.add(9, EventType::kIpl, {}, {}).ok();
    ok &= save(dir, "every-event-type", log.bytes());
  }
  ok &= save(dir, "header-sha1-log", patched<uint32_t>(base, 4, 1));
  ok &= save(dir, "header-signature-event02", patched<uint8_t>(base, 32 + 14, '2'));
  ok &= save(dir, "header-platform-server", patched<uint32_t>(base, 48, 1));
  ok &= save(dir, "header-uintn-32", patched<uint8_t>(base, 55, 1));
  ok &= save(dir, "header-spec-version-1", patched<uint8_t>(base, 53, 1));
  ok &= save(dir, "header-algorithm-sha1", patched<uint16_t>(base, 60, 0x0004));
  ok &= save(dir, "header-algorithm-sm3", patched<uint16_t>(base, 64, 0x0012));
  ok &= save(dir, "header-three-algorithms", patched<uint32_t>(base, 56, 3));
  ok &= save(dir, "header-spec-size-huge", patched<uint32_t>(base, 28, 0xFFFFFFFF));
  ok &= save(dir, "header-vendor-info-1", patched<uint8_t>(base, 68, 1));
  ok &= save(dir, "event-pcr-24", patched<uint32_t>(base, first, 24));
  ok &= save(dir, "event-no-action", patched<uint32_t>(base, first + 4, 3));
  ok &= save(dir, "event-efi-type", patched<uint32_t>(base, first + 4, 0x80000001));
  ok &= save(dir, "event-digest-count-1", patched<uint32_t>(base, first + 8, 1));
  ok &= save(dir, "event-digest-count-3", patched<uint32_t>(base, first + 8, 3));
  ok &= save(dir, "event-algorithm-sha1", patched<uint16_t>(base, first + 12, 0x0004));
  ok &= save(dir, "event-algorithm-twice", patched<uint16_t>(base, first + 46, 0x000B));
  ok &= save(dir, "event-size-huge", patched<uint32_t>(base, first + 96, 0xFFFFFFFF));
  ok &= save(dir, "event-size-past-end", patched<uint32_t>(base, first + 96, 60000));
  ok &= save(dir, "event-tag-size-lies", patched<uint32_t>(base, first + 107 + 104, 99));
  std::vector<uint8_t> trailing = base;
  trailing.insert(trailing.end(), {0xde, 0xad, 0xbe, 0xef});
  ok &= save(dir, "trailing-garbage", trailing);
  std::vector<uint8_t> padded = base;
  padded.resize(padded.size() + 128, 0);
  ok &= save(dir, "trailing-zero-padding", padded);
  ok &= save(dir, "cut-in-first-event", std::vector<uint8_t>(base.begin(), base.begin() + first + 50));
  ok &= save(dir, "cut-in-header", std::vector<uint8_t>(base.begin(), base.begin() + 40));
  return ok ? 0 : 1;
}

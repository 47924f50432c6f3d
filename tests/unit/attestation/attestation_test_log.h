// A launch's event log as the tests' fixture: kernel, initrd, command line in PCR 9 and three
// isolation items in PCR 15, written with the launcher's functions, and byte-level helpers to
// make it lie.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "attestation/event_log_writer.h"
#include "attestation/launch_events.h"

namespace bulwark::attestation::testing {

inline std::vector<uint8_t> text_bytes(std::string_view text) { return {text.begin(), text.end()}; }

// A digest or PCR value in lower-case hex, as tpm2_eventlog prints it.
template <size_t N>
std::string digest_hex(const std::array<uint8_t, N>& bytes) {
  std::string out;
  char two[3];
  for (uint8_t b : bytes) {
    std::snprintf(two, sizeof(two), "%02x", b);
    out += two;
  }
  return out;
}

inline EventLogWriter sample_log_writer() {
  EventLogWriter log;
  auto ok = [](const Result<Digests>& r) { if (!r.ok()) std::abort(); };
  ok(measure_kernel(log, text_bytes("a kernel image")));
  ok(measure_initrd(log, text_bytes("an initrd")));
  ok(measure_command_line(log, "console=ttyS0 root=/dev/vda ro"));
  ok(measure_isolation_item(log, "seccomp monitor", text_bytes("monitor policy as compiled")));
  ok(measure_isolation_item(log, "selinux dev-blk", text_bytes("system_u:system_r:bulwark_dev_t:s0:c1,c2")));
  ok(measure_isolation_item(log, "binary monitor", text_bytes("\x7f" "ELF monitor")));
  return log;
}

inline std::vector<uint8_t> sample_log() { return sample_log_writer().bytes(); }

// Header: 32 bytes of TCG_PCClientPCREvent, then a 37-byte Spec ID event with no vendor info.
inline constexpr size_t kSpecIdOffset = 32;
inline constexpr size_t kHeaderBytes = kSpecIdOffset + 37;
// Offsets inside the Spec ID event and inside a TCG_PCR_EVENT2.
inline constexpr size_t kSpecAlgorithmCount = kSpecIdOffset + 24;
inline constexpr size_t kSpecFirstAlgorithm = kSpecIdOffset + 28;
inline constexpr size_t kEventDigestCount = 8;
inline constexpr size_t kEventFirstAlgorithm = 12;
inline constexpr size_t kEventSize = 12 + 2 + 32 + 2 + 48;

template <typename T>
void poke(std::vector<uint8_t>& bytes, size_t offset, T value) {
  std::memcpy(bytes.data() + offset, &value, sizeof(T));
}

}  // namespace bulwark::attestation::testing

// Writes the crypto-agile event log (event_log.h) of one launch: the Spec ID header, then one
// TCG_PCR_EVENT2 per measurement. The launcher is its only user; the measured bytes are the
// operator's and the tenant's launch inputs (kernel, initrd, command line, policies, binaries).
// The writer refuses what the parser would refuse, so every log it makes reads back.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "attestation/event_log.h"
#include "bulwark/common/result.h"

namespace bulwark::attestation {

class EventLogWriter {
 public:
  EventLogWriter();  // the header

  // Measures `measured` (SHA-256 and SHA-384), appends the event and returns its digests:
  // the values the launcher then extends into the vTPM's banks.
  Result<Digests> add(uint32_t pcr, EventType type, std::span<const uint8_t> data,
                      std::span<const uint8_t> measured);
  // The same with digests computed elsewhere (say, a file hashed while it was streamed).
  Result<Digests> add_digests(uint32_t pcr, EventType type, std::span<const uint8_t> data,
                              const Digests& digests);

  size_t event_count() const { return events_; }
  const std::vector<uint8_t>& bytes() const { return log_; }

 private:
  std::vector<uint8_t> log_;
  size_t events_ = 0;
};

}  // namespace bulwark::attestation

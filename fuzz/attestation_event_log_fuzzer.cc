// The event log parser (attestation/event_log_parser) as a verifier meets it: a log from a host
// or guest it does not trust. Input: the log's bytes as they are. What an accepted log promises:
// every event passes the writer's checks, replay succeeds, and the writer, given the parsed
// events, writes a log that parses to the same events and replays to the same PCRs.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "attestation/event_log_parser.h"
#include "attestation/event_log_writer.h"
#include "attestation/pcr_replay.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bulwark::attestation;
  auto events = parse_event_log(std::span<const uint8_t>(data, size));
  if (!events.ok()) return 0;
  if (events->size() > kMaxEvents) std::abort();
  for (const Event& event : *events)
    if (!check_event(event.pcr, static_cast<uint32_t>(event.type), event.data).ok()) std::abort();
  auto pcrs = replay_pcrs(*events);
  if (!pcrs.ok()) std::abort();

  EventLogWriter writer;
  for (const Event& event : *events)
    if (!writer.add_digests(event.pcr, event.type, event.data, event.digests).ok()) std::abort();
  auto again = parse_event_log(writer.bytes());
  if (!again.ok() || *again != *events) std::abort();
  auto again_pcrs = replay_pcrs(*again);
  if (!again_pcrs.ok() || !(*again_pcrs == *pcrs)) std::abort();
  return 0;
}

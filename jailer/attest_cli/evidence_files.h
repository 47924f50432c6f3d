// The evidence directory `bulwark attest quote` writes and `bulwark attest verify` reads, and
// bounded whole-file reads and writes for both (the verifier's files are hostile input: each
// read stops at its limit and refuses a larger file, a non-regular file, a symlink).
//
//   quote.msg     TPMS_ATTEST, as signed (tpm2_quote -m / tpm2_checkquote -m)
//   quote.sig     TPMT_SIGNATURE (tpm2-tools' "tpm2" signature format; tpm2_checkquote -s)
//   ak.pub        the AK's TPM2B_PUBLIC (tpm2_createak -u; tpm2_checkquote -u)
//   ak.pem        the same key as PEM (openssl, tpm2_checkquote -u)
//   eventlog.bin  the launch's event log (tpm2_eventlog; tpm2_checkquote -e)
//   pcrs          SHA-256 of PCR 9 then PCR 15, 64 bytes (tpm2_checkquote -F values -f)
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "bulwark/common/result.h"

namespace bulwark::attest_cli {

inline constexpr const char* kQuoteMessageFile = "quote.msg";
inline constexpr const char* kQuoteSignatureFile = "quote.sig";
inline constexpr const char* kAkPublicFile = "ak.pub";
inline constexpr const char* kAkPemFile = "ak.pem";
inline constexpr const char* kEventLogFile = "eventlog.bin";
inline constexpr const char* kPcrsFile = "pcrs";
// An event log of kMaxEvents events of kMaxEventDataBytes would be larger; a launch's is a few
// KiB. The verifier reads no more than this.
inline constexpr size_t kMaxEventLogFileBytes = 16 << 20;

// The whole of `path`, a regular file of at most `max_bytes` (not followed if a symlink).
Result<std::vector<uint8_t>> read_bounded_file(const std::string& path, size_t max_bytes);
// `bytes` to `path` (mode 0644), replacing what was there.
Status write_file(const std::string& path, std::span<const uint8_t> bytes);

// Text from the evidence for a terminal: printable ASCII kept, everything else as \xNN, at most
// `max` bytes of input shown.
std::string printable(std::string_view text, size_t max = 512);

}  // namespace bulwark::attest_cli

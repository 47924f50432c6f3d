// The header of a TPM 2.0 response as swtpm sends it on its data channel: tag, size, code,
// big-endian. swtpm runs as the VM's uid and serves the guest: what it says is checked like
// guest input before a byte of it is believed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace bulwark::tpm {

struct TpmResponseHeader {
  uint16_t tag = 0;
  uint32_t size = 0;  // the whole response, header included
  uint32_t code = 0;
};

struct ResponseHeaderCheck {
  bool ok = false;
  TpmResponseHeader header;
  std::string error;  // when !ok
};

// `bytes` holds at least the first 10 bytes of a response. The tag must be TPM_ST_NO_SESSIONS
// or TPM_ST_SESSIONS; the size at least 10 and at most `max_size`.
ResponseHeaderCheck parse_tpm_response_header(std::span<const uint8_t> bytes, size_t max_size);

// A whole response: its header checked as above and its size equal to bytes.size().
ResponseHeaderCheck check_tpm_response(std::span<const uint8_t> bytes, size_t max_size);

}  // namespace bulwark::tpm

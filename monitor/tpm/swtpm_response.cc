#include "monitor/tpm/swtpm_response.h"

#include "monitor/tpm/crb_regs.h"

namespace bulwark::tpm {

ResponseHeaderCheck parse_tpm_response_header(std::span<const uint8_t> bytes, size_t max_size) {
  ResponseHeaderCheck check;
  if (bytes.size() < kTpmHeaderSize) {
    check.error = "response shorter than its 10-byte header";
    return check;
  }
  auto be32 = [&bytes](size_t at) {
    return (uint32_t{bytes[at]} << 24) | (uint32_t{bytes[at + 1]} << 16) | (uint32_t{bytes[at + 2]} << 8) |
           bytes[at + 3];
  };
  check.header.tag = static_cast<uint16_t>((bytes[0] << 8) | bytes[1]);
  check.header.size = be32(2);
  check.header.code = be32(6);
  if (check.header.tag != 0x8001 && check.header.tag != 0x8002) {
    check.error = "response tag " + std::to_string(check.header.tag) + " is neither TPM_ST_NO_SESSIONS nor TPM_ST_SESSIONS";
    return check;
  }
  if (check.header.size < kTpmHeaderSize) {
    check.error = "response size " + std::to_string(check.header.size) + " is smaller than its header";
    return check;
  }
  if (check.header.size > max_size) {
    check.error = "response size " + std::to_string(check.header.size) + " exceeds the buffer of " +
                  std::to_string(max_size) + " bytes";
    return check;
  }
  check.ok = true;
  return check;
}

ResponseHeaderCheck check_tpm_response(std::span<const uint8_t> bytes, size_t max_size) {
  ResponseHeaderCheck check = parse_tpm_response_header(bytes, max_size);
  if (check.ok && check.header.size != bytes.size()) {
    check.ok = false;
    check.error = "response of " + std::to_string(bytes.size()) + " bytes says it has " +
                  std::to_string(check.header.size);
  }
  return check;
}

}  // namespace bulwark::tpm

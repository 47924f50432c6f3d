// swtpm's response header as the monitor reads it (monitor/tpm/swtpm_response): swtpm runs as
// the VM's uid and may be compromised. Input: 2 bytes of buffer size (LE), then the response.
// What an accepted header promises: a TPM 2.0 response tag, a size from 10 to the buffer
// size; a whole response accepted is exactly as long as it says.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "monitor/tpm/swtpm_response.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bulwark::tpm;
  if (size < 2) return 0;
  const size_t max = data[0] | (size_t{data[1]} << 8);
  const std::span<const uint8_t> response(data + 2, size - 2);
  const ResponseHeaderCheck header = parse_tpm_response_header(response, max);
  if (header.ok) {
    if (header.header.size < 10 || header.header.size > max) std::abort();
    if (header.header.tag != 0x8001 && header.header.tag != 0x8002) std::abort();
    if (!header.error.empty()) std::abort();
  } else if (header.error.empty()) {
    std::abort();
  }
  const ResponseHeaderCheck whole = check_tpm_response(response, max);
  if (whole.ok && (!header.ok || whole.header.size != response.size())) std::abort();
  return 0;
}

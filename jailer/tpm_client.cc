#include "jailer/tpm_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "attestation/tpm2_command.h"
#include "attestation/tpm2_quote_command.h"

namespace bulwark::jail {

namespace {

constexpr int kIoTimeoutMs = 5000;

Status wait_for(int fd, short events) {
  pollfd p{fd, events, 0};
  for (;;) {
    const int n = ::poll(&p, 1, kIoTimeoutMs);
    if (n > 0) return ok_status();
    if (n == 0) return Error("swtpm did not answer within 5 s");
    if (errno != EINTR) return Error::from_errno("poll the TPM socket", errno);
  }
}

Status read_exactly(int fd, std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    BULWARK_TRY(wait_for(fd, POLLIN));
    const ssize_t n = ::recv(fd, out.data() + done, out.size() - done, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return Error::from_errno("read from the TPM socket", errno);
    if (n == 0) return Error("swtpm closed the connection mid-response");
    done += static_cast<size_t>(n);
  }
  return ok_status();
}

}  // namespace

Result<TpmClient> TpmClient::connect(const std::string& path, int wait_ms) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) return Error("TPM socket path too long: " + path);
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  for (;;) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return Error::from_errno("socket", errno);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) {
      return TpmClient(std::move(fd));
    }
    const int error = errno;
    // The listening socket exists before swtpm runs (the launcher made it): a refused or
    // pending connection is retried until the deadline.
    if (std::chrono::steady_clock::now() >= deadline) return Error::from_errno("connect to " + path, error);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Result<std::vector<uint8_t>> TpmClient::transact(std::span<const uint8_t> command) {
  // TPM_RC_YIELDED, TPM_RC_TESTING, TPM_RC_RETRY: the command did not run (swtpm answers
  // TPM_RC_RETRY to the first quote after Startup): send it again, a few times.
  constexpr uint32_t kRetryCodes[] = {0x908, 0x90A, 0x922};
  for (int attempt = 0;; ++attempt) {
    auto response = transact_once(command);
    if (!response.ok() || attempt == 20) return response;
    const uint32_t code = uint32_t{(*response)[6]} << 24 | uint32_t{(*response)[7]} << 16 |
                          uint32_t{(*response)[8]} << 8 | (*response)[9];
    if (std::find(std::begin(kRetryCodes), std::end(kRetryCodes), code) == std::end(kRetryCodes)) return response;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

Result<std::vector<uint8_t>> TpmClient::transact_once(std::span<const uint8_t> command) {
  size_t sent = 0;
  while (sent < command.size()) {
    BULWARK_TRY(wait_for(fd_.get(), POLLOUT));
    const ssize_t n = ::send(fd_.get(), command.data() + sent, command.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return Error::from_errno("write to the TPM socket", errno);
    sent += static_cast<size_t>(n);
  }
  std::vector<uint8_t> response(attestation::kTpmHeaderBytes);
  BULWARK_TRY(read_exactly(fd_.get(), response));
  auto header = attestation::parse_response_header(response);
  if (!header.ok()) return header.error();
  response.resize(header->size);  // at most kTpmMaxMessageBytes: checked by the parser
  BULWARK_TRY(read_exactly(fd_.get(), std::span<uint8_t>(response).subspan(attestation::kTpmHeaderBytes)));
  return response;
}

Status TpmClient::startup_clear() {
  auto response = transact(attestation::startup_clear_command());
  if (!response.ok()) return response.error().wrap("TPM2_Startup");
  return attestation::parse_startup_response(*response);
}

Status TpmClient::pcr_extend(uint32_t pcr, const attestation::Digests& digests, bool with_sha384) {
  auto command = attestation::pcr_extend_command(pcr, digests, with_sha384);
  if (!command.ok()) return command.error();
  auto response = transact(*command);
  if (!response.ok()) return response.error().wrap("TPM2_PCR_Extend");
  return attestation::parse_pcr_extend_response(*response);
}

Result<attestation::PcrReadResult> TpmClient::pcr_read(uint32_t pcr) {
  const uint16_t banks[] = {attestation::kAlgSha256, attestation::kAlgSha384};
  auto command = attestation::pcr_read_command(pcr, banks);
  if (!command.ok()) return command.error();
  auto response = transact(*command);
  if (!response.ok()) return response.error().wrap("TPM2_PCR_Read");
  return attestation::parse_pcr_read_response(*response, pcr);
}

Result<attestation::CreatedAk> TpmClient::create_ak() {
  auto response = transact(attestation::create_ak_command());
  if (!response.ok()) return response.error().wrap("TPM2_CreatePrimary");
  return attestation::parse_create_ak_response(*response);
}

Result<attestation::QuoteResponse> TpmClient::quote(uint32_t ak_handle, std::span<const uint8_t> nonce) {
  auto command = attestation::quote_command(ak_handle, nonce);
  if (!command.ok()) return command.error();
  auto response = transact(*command);
  if (!response.ok()) return response.error().wrap("TPM2_Quote");
  return attestation::parse_quote_response(*response);
}

Status TpmClient::flush(uint32_t handle) {
  auto response = transact(attestation::flush_context_command(handle));
  if (!response.ok()) return response.error().wrap("TPM2_FlushContext");
  return attestation::parse_flush_context_response(*response);
}

}  // namespace bulwark::jail

// The TPM's CRB device (monitor/tpm/crb_device) between a hostile guest and a hostile swtpm.
// Checked after every step: the read-only registers never move (buffer size and address),
// CTRL_START reads busy exactly while a command is with the engine, a command handed to the
// engine is 10..3968 bytes and as long as its own header says, accesses of a bad width or
// outside the region read as all ones, a failed device stays failed and never hands out
// another command.
//
// Input format, repeated until the bytes run out:
//   op byte: bits 1..0 = kind, bits 4..2 = width index into {1, 2, 4, 8, 3, 0, 16, 5}
//     kind 0: guest read at offset = next 2 bytes (LE; beyond 0x5000 too)
//     kind 1: guest write at that offset of the next `width` bytes
//     kind 2: the engine: take the waiting command; bits 6..5: 0 answer with a well-formed
//             response of (next byte * 16 + 10) bytes, 1 answer with the next byte * 17 raw
//             bytes (the monitor's check decides: complete or fail), 2 fail, 3 leave it pending
//     kind 3: a shortcut for the common case: LOC_CTRL request, CTRL_REQ cmdReady, a 4-byte
//             command size (next 4 bytes, big endian) at the buffer's start, CTRL_START
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "monitor/tpm/crb_access.h"
#include "monitor/tpm/crb_device.h"
#include "monitor/tpm/swtpm_response.h"

namespace {

using namespace bulwark::tpm;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "tpm_crb invariant broken: %s\n", what);
    std::abort();
  }
}

uint32_t read32(CrbDevice& crb, uint64_t offset) { return crb_read32(crb, offset); }
void write32(CrbDevice& crb, uint64_t offset, uint32_t value) { crb_write32(crb, offset, value); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static constexpr size_t kWidths[] = {1, 2, 4, 8, 3, 0, 16, 5};
  CrbDevice crb;
  bool in_flight = false;  // a command was taken and not answered
  size_t i = 0;
  auto next = [&]() -> uint8_t { return i < size ? data[i++] : 0; };
  while (i < size) {
    const uint8_t op = next();
    const size_t width = kWidths[(op >> 2) & 7];
    const bool was_failed = crb.failed();
    switch (op & 3) {
      case 0:
      case 1: {
        const uint64_t offset = next() | (uint64_t{next()} << 8);
        std::array<uint8_t, 16> buffer{};
        std::fill(buffer.begin(), buffer.end(), 0x5a);
        const std::span<uint8_t> access(buffer.data(), width);
        const bool valid = (width == 1 || width == 2 || width == 4 || width == 8) && offset + width <= kCrbSize;
        if ((op & 3) == 0) {
          crb.mmio_read(offset, access);
          if (!valid) check(std::all_of(access.begin(), access.end(), [](uint8_t b) { return b == 0xff; }), "bad read not all ones");
        } else {
          for (uint8_t& b : access) b = next();
          crb.mmio_write(offset, access);
        }
        break;
      }
      case 2: {
        auto command = crb.take_command();
        if (command) {
          check(!was_failed, "a failed device handed out a command");
          check(command->size() >= kTpmHeaderSize && command->size() <= kDataBufferSize, "command size out of bounds");
          const uint32_t said = (uint32_t{(*command)[2]} << 24) | (uint32_t{(*command)[3]} << 16) |
                                (uint32_t{(*command)[4]} << 8) | (*command)[5];
          check(said == command->size(), "command not as long as its header says");
          in_flight = true;
        }
        const int how = (op >> 5) & 3;
        if (!in_flight) break;
        if (how == 0) {
          const size_t n = std::min<size_t>(size_t{next()} * 16 + kTpmHeaderSize, kDataBufferSize);
          std::vector<uint8_t> response(n, 0);
          response[0] = 0x80;
          response[1] = 0x01;
          response[4] = static_cast<uint8_t>(n >> 8);
          response[5] = static_cast<uint8_t>(n);
          crb.complete(response);
          check(!crb.busy() || crb.failed(), "busy after a response");
          in_flight = false;
        } else if (how == 1) {
          const size_t n = size_t{next()} * 17;
          std::vector<uint8_t> response;
          for (size_t k = 0; k < n && i < size; ++k) response.push_back(next());
          if (check_tpm_response(response, kDataBufferSize).ok) {
            crb.complete(response);
          } else {
            crb.fail();
          }
          in_flight = false;
        } else if (how == 2) {
          crb.fail();
          in_flight = false;
        }
        break;
      }
      default: {
        write32(crb, kLocCtrl, kLocCtrlRequest);
        write32(crb, kCtrlReq, kCtrlReqCmdReady);
        const uint8_t header[6] = {0x80, 0x01, next(), next(), next(), next()};
        for (size_t k = 0; k < sizeof header; ++k) crb.mmio_write(kDataBuffer + k, std::span<const uint8_t>(&header[k], 1));
        write32(crb, kCtrlStart, kCtrlStartInvoke);
        break;
      }
    }
    check(read32(crb, kCtrlCmdSize) == kDataBufferSize, "CMD_SIZE moved");
    check(read32(crb, kCtrlRspSize) == kDataBufferSize, "RSP_SIZE moved");
    check(read32(crb, kCtrlCmdLaddr) == kCrbBase + kDataBuffer, "CMD_LADDR moved");
    check(read32(crb, kCtrlCmdHaddr) == 0, "CMD_HADDR moved");
    check(read32(crb, kCtrlRspAddr) == kCrbBase + kDataBuffer, "RSP_ADDR moved");
    check(((read32(crb, kCtrlStart) & kCtrlStartInvoke) != 0) == crb.busy(), "CTRL_START is not the busy state");
    check(!was_failed || crb.failed(), "a failed device recovered");
    check(!crb.failed() || (read32(crb, kCtrlSts) & kCtrlStsFatal), "a failed device does not say so");
    check(!crb.failed() || !crb.command_waiting(), "a failed device has a command waiting");
  }
  return 0;
}

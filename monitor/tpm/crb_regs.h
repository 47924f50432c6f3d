// The TPM's Command Response Buffer interface (TCG PC Client Platform TPM Profile, CRB): where
// it sits in the guest's address space and the locality-0 register offsets and bits the
// monitor emulates. Facts from the TCG specification; Linux's tpm_crb driver is the reader.
#pragma once

#include <cstdint>

#include "monitor/boot/guest_layout.h"

namespace bulwark::tpm {

// Five localities of 4 KiB each at the address the PC Client profile fixes. Only locality 0
// is emulated; the other pages read as zero and ignore writes.
inline constexpr uint64_t kCrbBase = 0xfed40000;
inline constexpr uint64_t kCrbSize = 0x5000;
static_assert(kCrbBase >= boot::kMmioHoleStart && kCrbBase + kCrbSize <= boot::kMmioHoleEnd);
static_assert(kCrbBase >= boot::kIoApicAddr + 0x1000 && kCrbBase + kCrbSize <= boot::kLocalApicAddr,
              "between the IOAPIC page and the local APIC, above the PCI window");

// Locality 0 register offsets.
inline constexpr uint64_t kLocState = 0x00;
inline constexpr uint64_t kLocCtrl = 0x08;
inline constexpr uint64_t kLocSts = 0x0c;
inline constexpr uint64_t kInterfaceId = 0x30;   // 64 bits
inline constexpr uint64_t kCtrlExt = 0x38;       // 64 bits
inline constexpr uint64_t kCtrlReq = 0x40;       // the control area starts here (ACPI TPM2)
inline constexpr uint64_t kCtrlSts = 0x44;
inline constexpr uint64_t kCtrlCancel = 0x48;
inline constexpr uint64_t kCtrlStart = 0x4c;
inline constexpr uint64_t kIntEnable = 0x50;
inline constexpr uint64_t kIntSts = 0x54;
inline constexpr uint64_t kCtrlCmdSize = 0x58;
inline constexpr uint64_t kCtrlCmdLaddr = 0x5c;
inline constexpr uint64_t kCtrlCmdHaddr = 0x60;
inline constexpr uint64_t kCtrlRspSize = 0x64;
inline constexpr uint64_t kCtrlRspAddr = 0x68;   // 64 bits
inline constexpr uint64_t kRegistersEnd = 0x80;
// One buffer for command and response, after the registers, to the end of locality 0's page.
inline constexpr uint64_t kDataBuffer = 0x80;
inline constexpr uint64_t kDataBufferSize = 0x1000 - kDataBuffer;  // 3968 bytes
inline constexpr uint64_t kControlAreaGpa = kCrbBase + kCtrlReq;

// LOC_STATE
inline constexpr uint32_t kLocStateEstablished = 1u << 0;
inline constexpr uint32_t kLocStateAssigned = 1u << 1;
inline constexpr uint32_t kLocStateRegValid = 1u << 7;
// LOC_CTRL
inline constexpr uint32_t kLocCtrlRequest = 1u << 0;
inline constexpr uint32_t kLocCtrlRelinquish = 1u << 1;
inline constexpr uint32_t kLocCtrlSeize = 1u << 2;
// LOC_STS
inline constexpr uint32_t kLocStsGranted = 1u << 0;
// CTRL_REQ
inline constexpr uint32_t kCtrlReqCmdReady = 1u << 0;
inline constexpr uint32_t kCtrlReqGoIdle = 1u << 1;
// CTRL_STS
inline constexpr uint32_t kCtrlStsFatal = 1u << 0;
inline constexpr uint32_t kCtrlStsIdle = 1u << 1;
// CTRL_START
inline constexpr uint32_t kCtrlStartInvoke = 1u << 0;

// INTERFACE_ID: CRB interface type and version, CRB capability and selector, 64-byte
// transfers; no locality capability beyond 0, no idle bypass, no FIFO.
inline constexpr uint64_t kInterfaceIdValue = (1ull << 0)     // InterfaceType: CRB
                                              | (1ull << 4)   // InterfaceVersion: CRB
                                              | (3ull << 11)  // CapDataXferSizeSupport: 64 bytes
                                              | (1ull << 14)  // CapCRB
                                              | (1ull << 17)  // InterfaceSelector: CRB
                                              | (1ull << 19); // IntfSelLock: no switch to FIFO

// TPM 2.0 response codes the device answers with itself.
inline constexpr uint16_t kTpmStNoSessions = 0x8001;
inline constexpr uint32_t kTpmRcFailure = 0x101;      // the engine is gone
inline constexpr uint32_t kTpmRcCommandSize = 0x142;  // the header's size is impossible
inline constexpr uint32_t kTpmHeaderSize = 10;

}  // namespace bulwark::tpm

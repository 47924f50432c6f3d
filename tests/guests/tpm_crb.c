/* tpm_crb: a minimal TPM 2.0 CRB driver, as Linux's tpm_crb does it. Finds the TPM2 table
 * (start method 7, control area 0xFED40040) and the DSDT's MSFT0101, requests locality 0,
 * sends TPM2_GetRandom(16) and TPM2_PCR_Read(PCR 9, SHA-256) and prints the PCR. Then it is
 * hostile: garbage in every word of the region, a command longer than the buffer, a command
 * without the locality; the TPM must answer each with an error and still work afterwards.
 * Lines: "tpm_crb: ...", then "TPM-CRB PASS" or "TPM-CRB FAIL <step>". With `wait=1` on the
 * command line it then spins (the VM stays up, so a test can read the launcher's event log); with
 * `loop=1` it sends GetRandom again and again, quietly, until one fails (a test kills swtpm). */
#include "runtime/guest.h"

enum {
  kCrb = 0xfed40000,
  kLocState = 0x00, kLocCtrl = 0x08, kLocSts = 0x0c, kInterfaceId = 0x30, kCtrlReq = 0x40,
  kCtrlSts = 0x44, kCtrlStart = 0x4c, kCmdSize = 0x58, kCmdLaddr = 0x5c, kCmdHaddr = 0x60,
  kRspSize = 0x64, kRspAddr = 0x68,
  kRegion = 0x5000,
};
static const uint64_t kSpin = 20000000; /* polls of a register: each is an exit, so seconds */

static uint32_t reg(uint32_t off) { return mmio_read32(kCrb + off); }
static void set_reg(uint32_t off, uint32_t v) { mmio_write32(kCrb + off, v); }

static bool fail(const char* step) {
  guest_printf("TPM-CRB FAIL %s\n", step);
  return false;
}

static uint32_t be32(const uint8_t* p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* ---- ACPI: RSDP -> XSDT -> TPM2, FACP -> DSDT ---- */
static uint64_t find_table(const char* sig) {
  uint64_t rsdp = 0;
  for (uint64_t a = 0xe0000; a < 0x100000; a += 16) {
    if (memcmp(phys_ptr(a), "RSD PTR ", 8) == 0) {
      rsdp = a;
      break;
    }
  }
  if (rsdp == 0) return 0;
  const uint64_t xsdt = mmio_read64(rsdp + 24);
  const uint32_t len = mmio_read32(xsdt + 4);
  for (uint32_t at = 36; at + 8 <= len; at += 8) {
    const uint64_t table = mmio_read64(xsdt + at);
    if (memcmp(phys_ptr(table), sig, 4) == 0) return table;
  }
  return 0;
}

static bool check_acpi(void) {
  const uint64_t tpm2 = find_table("TPM2");
  if (tpm2 == 0) return fail("acpi: no TPM2 table");
  const uint32_t method = mmio_read32(tpm2 + 48);
  const uint64_t control = mmio_read64(tpm2 + 40);
  guest_printf("tpm_crb: TPM2 start method %u control area 0x%lx\n", method, control);
  if (method != 7 || control != kCrb + kCtrlReq) return fail("acpi: TPM2 table");
  const uint64_t facp = find_table("FACP");
  if (facp == 0) return fail("acpi: no FACP");
  const uint64_t dsdt = mmio_read64(facp + 140);
  const uint32_t dsdt_len = mmio_read32(dsdt + 4);
  if (memcmp(phys_ptr(dsdt), "DSDT", 4) != 0 || dsdt_len > 0x10000) return fail("acpi: DSDT");
  for (uint32_t i = 36; i + 8 <= dsdt_len; ++i) {
    if (memcmp(phys_ptr(dsdt + i), "MSFT0101", 8) == 0) {
      guest_printf("tpm_crb: DSDT declares MSFT0101\n");
      return true;
    }
  }
  return fail("acpi: no MSFT0101 in the DSDT");
}

/* ---- CRB ---- */
static bool wait_reg(uint32_t off, uint32_t mask, uint32_t value) {
  for (uint64_t i = 0; i < kSpin; ++i) {
    if ((reg(off) & mask) == value) return true;
    cpu_relax();
  }
  return false;
}

static bool request_locality(void) {
  set_reg(kLocCtrl, 1); /* requestAccess */
  if (!wait_reg(kLocState, 0x82, 0x82)) return fail("locality not assigned");
  if ((reg(kLocSts) & 1) == 0) return fail("locality not granted");
  set_reg(kCtrlReq, 1); /* cmdReady */
  if (!wait_reg(kCtrlReq, 1, 0)) return fail("cmdReady did not complete");
  if (reg(kCtrlSts) & 2) return fail("still idle after cmdReady");
  return true;
}

/* Sends `cmd` and reads the response into rsp (up to max); returns its size, 0 on failure. */
static uint32_t transact(const uint8_t* cmd, uint32_t len, uint8_t* rsp, uint32_t max) {
  const uint64_t buf = reg(kCmdLaddr) | ((uint64_t)reg(kCmdHaddr) << 32);
  for (uint32_t i = 0; i < len; ++i) mmio_write8(buf + i, cmd[i]);
  set_reg(kCtrlStart, 1);
  if (!wait_reg(kCtrlStart, 1, 0)) return 0;
  const uint64_t rbuf = mmio_read64(kCrb + kRspAddr);
  uint8_t header[10];
  for (int i = 0; i < 10; ++i) header[i] = mmio_read8(rbuf + (uint64_t)i);
  const uint32_t size = be32(header + 2);
  if (size < 10 || size > max || size > reg(kRspSize)) return 0;
  for (uint32_t i = 0; i < size; ++i) rsp[i] = mmio_read8(rbuf + i);
  return size;
}

static const uint8_t kGetRandom[] = {0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x7b, 0, 16};
static const uint8_t kPcrRead9[] = {0x80, 0x01, 0, 0, 0, 20, 0, 0, 0x01, 0x7e, /* TPM2_PCR_Read */
                                    0, 0, 0, 1, 0x00, 0x0b, 3, 0x00, 0x02, 0x00}; /* sha256: PCR 9 */

static bool get_random_quietly(const char* when, bool quiet) {
  uint8_t rsp[64];
  const uint32_t n = transact(kGetRandom, sizeof kGetRandom, rsp, sizeof rsp);
  if (n != 28 || be32(rsp + 6) != 0 || rsp[10] != 0 || rsp[11] != 16) {
    guest_printf("tpm_crb: GetRandom %s: size %u code 0x%x\n", when, n, n >= 10 ? be32(rsp + 6) : 0);
    return fail("GetRandom");
  }
  if (quiet) return true;
  guest_printf("tpm_crb: GetRandom %s: ", when);
  for (int i = 12; i < 28; ++i) guest_printf("%02x", rsp[i]);
  guest_printf("\n");
  return true;
}

static bool get_random(const char* when) { return get_random_quietly(when, false); }

static bool pcr_read(void) {
  uint8_t rsp[128];
  const uint32_t n = transact(kPcrRead9, sizeof kPcrRead9, rsp, sizeof rsp);
  if (n != 62 || be32(rsp + 6) != 0 || be32(rsp + 24) != 1 || rsp[28] != 0 || rsp[29] != 32) {
    guest_printf("tpm_crb: PCR_Read: size %u code 0x%x\n", n, n >= 10 ? be32(rsp + 6) : 0);
    return fail("PCR_Read");
  }
  guest_printf("tpm_crb: pcr9 sha256 ");
  for (int i = 30; i < 62; ++i) guest_printf("%02X", rsp[i]);
  guest_printf("\n");
  return true;
}

/* The response code of what the buffer holds now. */
static uint32_t buffer_code(void) {
  uint8_t h[10];
  for (int i = 0; i < 10; ++i) h[i] = mmio_read8(kCrb + 0x80 + (uint64_t)i);
  return be32(h + 6);
}

static bool hostile(void) {
  /* Garbage in every word of all five localities, registers and buffer alike. */
  for (uint32_t off = 0; off < kRegion; off += 4) set_reg(off, 0xffffffffu);
  if (reg(kCmdSize) != 0xf80 || reg(kCmdLaddr) != kCrb + 0x80) return fail("hostile: read-only registers changed");
  /* The buffer says 0xffffffff bytes: refused with TPM_RC_COMMAND_SIZE. */
  if (!request_locality()) return false;
  set_reg(kCtrlStart, 1);
  if (!wait_reg(kCtrlStart, 1, 0)) return fail("hostile: oversized command left the TPM busy");
  if (buffer_code() != 0x142) return fail("hostile: oversized command not refused");
  guest_printf("tpm_crb: oversized command refused (0x142)\n");
  /* One byte over the buffer. */
  const uint8_t over[] = {0x80, 0x01, 0, 0, 0x0f, 0x81, 0, 0, 0x01, 0x7b};
  for (uint32_t i = 0; i < sizeof over; ++i) mmio_write8(kCrb + 0x80 + i, over[i]);
  set_reg(kCtrlStart, 1);
  if (!wait_reg(kCtrlStart, 1, 0) || buffer_code() != 0x142) return fail("hostile: 0xf81-byte command not refused");
  /* Odd widths and a straddling access: ignored, and the region still answers. */
  mmio_write16(kCrb + kLocCtrl, 2);
  (void)mmio_read64(kCrb + 0x4ffc);
  /* No locality, no command. */
  set_reg(kLocCtrl, 2); /* relinquish */
  for (uint32_t i = 0; i < sizeof kGetRandom; ++i) mmio_write8(kCrb + 0x80 + i, kGetRandom[i]);
  set_reg(kCtrlStart, 1);
  if (reg(kCtrlStart) & 1) return fail("hostile: started without the locality");
  if (!request_locality()) return false;
  return get_random("after the hostile accesses");
}

void guest_main(void) {
  guest_printf("tpm_crb: interface id 0x%x\n", reg(kInterfaceId));
  if (!check_acpi()) return;
  if (!request_locality()) return;
  if (!get_random("first")) return;
  if (!pcr_read()) return;
  if (!hostile()) return;
  set_reg(kCtrlReq, 2); /* goIdle */
  set_reg(kLocCtrl, 2); /* relinquish */
  guest_printf("TPM-CRB PASS\n");
  if (cmdline_get_u64("loop", 0) != 0) {
    if (!request_locality()) return;
    while (get_random_quietly("looping", true)) {
    }
    return;
  }
  if (cmdline_get_u64("wait", 0) != 0) {
    for (;;) cpu_relax();
  }
}

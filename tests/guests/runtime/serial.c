/* COM1 console: polled 16550A, no interrupts. */
#include "runtime/guest.h"

enum {
  kThr = 0,  /* transmit holding (write) / receive buffer (read) */
  kIer = 1,
  kLcr = 3,
  kLsr = 5,
  kLsrDataReady = 0x01,
  kLsrThrEmpty = 0x20,
  /* A device that never reports THR empty must not hang the guest: after this many polls
   * the byte is written anyway. */
  kMaxThrPolls = 100000,
};

/* FCR is left alone on purpose: changing it clears the FIFOs, losing input that arrived
 * before the guest started (tests write stdin before the guest is up). */
void serial_init(void) {
  outb(COM1 + kIer, 0x00);  /* no interrupts */
  outb(COM1 + kLcr, 0x03);  /* 8N1, divisor latch off */
}

void serial_putc(char c) {
  for (int i = 0; i < kMaxThrPolls; ++i) {
    if (inb(COM1 + kLsr) & kLsrThrEmpty) break;
    cpu_relax();
  }
  outb(COM1 + kThr, (uint8_t)c);
}

void serial_write(const char* s, size_t len) {
  for (size_t i = 0; i < len; ++i) serial_putc(s[i]);
}

bool serial_try_getc(char* out) {
  if (!(inb(COM1 + kLsr) & kLsrDataReady)) return false;
  *out = (char)inb(COM1 + kThr);
  return true;
}

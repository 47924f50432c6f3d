/* Start-up, reset and halt. */
#include "runtime/guest.h"

/* Called by start.S before guest_main. */
void guest_runtime_init(void) {
  cmdline_init();
  serial_init();
}

void guest_halt_forever(void) {
  for (;;) __asm__ volatile("cli\n\thlt" ::: "memory");
}

void guest_reset(void) {
  enum { kI8042Command = 0x64, kI8042PulseReset = 0xfe };
  outb(kI8042Command, kI8042PulseReset);
  guest_halt_forever();
}

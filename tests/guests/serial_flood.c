/* serial_flood: "count=N" bytes to COM1 as fast as the guest can write them, without
 * waiting for the transmitter, so the host must keep up (or apply back-pressure) without
 * losing bytes or buffering without bound. Byte i of the flood is kPattern[i % 64], except
 * that the last byte of every 64 and the very last byte are '\n'. With "rep=1" each line goes
 * out as one REP OUTSB (string I/O, many bytes per exit).
 * Tests regenerate the same bytes and compare. */
#include "runtime/guest.h"

static const char kPattern[64] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-\n";

void guest_main(void) {
  uint64_t count = cmdline_get_u64("count", 262144);
  bool string_io = cmdline_get_u64("rep", 0) != 0;
  guest_printf("serial_flood: start count=%lu%s\n", count, string_io ? " rep" : "");
  for (uint64_t done = 0; done < count;) {
    uint64_t line = count - done < sizeof(kPattern) ? count - done : sizeof(kPattern);
    char buf[sizeof(kPattern)];
    memcpy(buf, kPattern, sizeof(buf));
    buf[line - 1] = '\n';
    if (string_io) {
      const char* src = buf;
      uint64_t n = line;
      __asm__ volatile("rep outsb" : "+S"(src), "+c"(n) : "d"((uint16_t)COM1) : "memory");
    } else {
      for (uint64_t i = 0; i < line; ++i) outb(COM1, (uint8_t)buf[i]);
    }
    done += line;
  }
  guest_printf("serial_flood: done %lu\n", count);
}

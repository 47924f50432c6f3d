/* echo: sends back every byte it receives on COM1; the line "quit" ends it. */
#include "runtime/guest.h"

void guest_main(void) {
  guest_printf("echo: ready\n");
  char line[128];
  size_t len = 0;
  char previous = 0;
  for (;;) {
    char c;
    if (!serial_try_getc(&c)) {
      cpu_relax();
      continue;
    }
    bool end_of_line = (c == '\n' || c == '\r');
    bool second_half_of_crlf = (c == '\n' && previous == '\r');
    previous = c;
    if (second_half_of_crlf) continue;
    if (!end_of_line) {
      serial_putc(c);
      if (len < sizeof(line)) line[len++] = c;
      continue;
    }
    serial_putc('\n');
    if (len == 4 && memcmp(line, "quit", 4) == 0) {
      guest_printf("echo: bye\n");
      return;
    }
    len = 0;
  }
}

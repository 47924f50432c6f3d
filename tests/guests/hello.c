/* hello: the smallest guest; also echoes its command line so tests can check it arrived. */
#include "runtime/guest.h"

void guest_main(void) {
  guest_printf("Hello from Bulwark test guest\n");
  guest_printf("hello: cmdline: %s\n", cmdline_raw());
}

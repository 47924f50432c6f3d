/* spin: never exits on its own, so the host has to stop it (SIGTERM/SIGINT tests). */
#include "runtime/guest.h"

void guest_main(void) {
  guest_printf("spin: running\n");
  for (;;) cpu_relax();
}

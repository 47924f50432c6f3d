/* heartbeat: prints `beat K dt=<guest TSC cycles since the previous beat>` each time `period`
 * guest TSC cycles have passed (busy-waiting on rdtsc), `beats` times, then resets. A pause of
 * the VM shows as silence; a guest TSC that jumps across it shows as one large dt. */
#include "runtime/guest.h"

void guest_main(void) {
  /* About 100 ms at 2-3 GHz. The loop is tiny: guest code may run in KVM's emulator. */
  const uint64_t period = cmdline_get_u64("period", 250000000);
  const uint64_t beats = cmdline_get_u64("beats", 20);
  guest_printf("heartbeat: period=%lu beats=%lu\n", (unsigned long)period, (unsigned long)beats);
  uint64_t last = rdtsc();
  for (uint64_t k = 1; k <= beats; ++k) {
    uint64_t now;
    do {
      now = rdtsc();
    } while (now - last < period);
    guest_printf("beat %lu dt=%lu\n", (unsigned long)k, (unsigned long)(now - last));
    last = now;
  }
  guest_printf("heartbeat: done\n");
}

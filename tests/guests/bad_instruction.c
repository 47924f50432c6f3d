/* bad_instruction: CMPXCHG16B, which an instruction emulator may not implement. Under
 * hardware that runs it natively the guest just reports the result and resets. */
#include "runtime/guest.h"

static volatile uint64_t target[2] __attribute__((aligned(16))) = {0x1111, 0x2222};

void guest_main(void) {
  guest_printf("bad_instruction: about to run cmpxchg16b\n");
  uint64_t expected_low = 0x1111, expected_high = 0x2222;
  uint64_t new_low = 0x3333, new_high = 0x4444;
  __asm__ volatile("lock cmpxchg16b %2"
                   : "+a"(expected_low), "+d"(expected_high), "+m"(*target)
                   : "b"(new_low), "c"(new_high)
                   : "memory", "cc");
  guest_printf("bad_instruction: cmpxchg16b completed, memory now 0x%lx 0x%lx\n", target[0],
               target[1]);
}

/* int3: a breakpoint must reach the guest's own #BP handler with RIP just past the 0xCC,
 * and iretq must resume right there, exactly once. */
#include "runtime/guest.h"

enum { kBreakpointVector = 3 };

static volatile uint32_t breakpoints_seen;
static volatile uint64_t breakpoint_rip;

static void on_exception(struct exception_frame* frame) {
  if (frame->vector != kBreakpointVector) {
    guest_printf("int3: FAIL unexpected exception %lu (error 0x%lx) at rip 0x%lx\n", frame->vector,
                 frame->error_code, frame->rip);
    guest_reset();
  }
  breakpoints_seen = breakpoints_seen + 1;
  breakpoint_rip = frame->rip;
  guest_printf("int3: breakpoint handled at rip 0x%lx\n", frame->rip);
  if (breakpoints_seen > 3) {  /* RIP was not advanced: the same int3 keeps firing */
    guest_printf("int3: FAIL breakpoint handler entered %u times\n", breakpoints_seen);
    guest_reset();
  }
}

void guest_main(void) {
  exceptions_install(on_exception);
  guest_printf("int3: executing int3\n");
  uint64_t after_int3;
  __asm__ volatile(".byte 0xcc\n1:\n\tleaq 1b(%%rip), %0" : "=r"(after_int3) : : "memory");
  if (breakpoints_seen != 1) {
    guest_printf("int3: FAIL breakpoint handler entered %u times\n", breakpoints_seen);
  } else if (breakpoint_rip != after_int3) {
    guest_printf("int3: FAIL handler saw rip 0x%lx, expected 0x%lx\n", breakpoint_rip, after_int3);
  } else {
    guest_printf("int3: resumed\n");
  }
}

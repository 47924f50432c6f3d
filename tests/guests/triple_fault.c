/* triple_fault: an exception with an empty IDT faults, double-faults, then shuts down. */
#include "runtime/guest.h"

void guest_main(void) {
  guest_printf("triple_fault: loading an empty IDT and executing ud2\n");
  struct {
    uint16_t limit;
    uint64_t base;
  } __attribute__((packed)) empty_idt = {0, 0};
  __asm__ volatile("lidt %0\n\tud2" : : "m"(empty_idt) : "memory");
  guest_printf("triple_fault: FAIL still running after ud2\n");
}

/* A 32-entry IDT for guests that want to see their own exceptions. */
#include "runtime/guest.h"
#include "runtime/x86.h"

enum { kVectors = 32, kInterruptGate = 0x8e /* present, DPL 0, 64-bit interrupt gate */ };

struct idt_gate {
  uint16_t offset_low;
  uint16_t selector;
  uint8_t ist;
  uint8_t type_attr;
  uint16_t offset_mid;
  uint32_t offset_high;
  uint32_t reserved;
} __attribute__((packed));

struct idt_pointer {
  uint16_t limit;
  uint64_t base;
} __attribute__((packed));

extern const uint64_t exception_stub_table[kVectors];

static struct idt_gate idt[kVectors] __attribute__((aligned(16)));
static exception_handler current_handler;

/* Called from exception_stubs.S. */
void exception_dispatch(struct exception_frame* frame);
void exception_dispatch(struct exception_frame* frame) {
  if (current_handler != NULL) {
    current_handler(frame);
    return;
  }
  guest_printf("exception: vector %lu at rip 0x%lx with no handler\n", frame->vector, frame->rip);
  guest_reset();
}

void exceptions_install(exception_handler handler) {
  current_handler = handler;
  for (int v = 0; v < kVectors; ++v) {
    uint64_t target = exception_stub_table[v];
    idt[v] = (struct idt_gate){
        .offset_low = (uint16_t)target,
        .selector = GDT_CODE64,
        .ist = 0,
        .type_attr = kInterruptGate,
        .offset_mid = (uint16_t)(target >> 16),
        .offset_high = (uint32_t)(target >> 32),
        .reserved = 0,
    };
  }
  struct idt_pointer pointer = {.limit = sizeof(idt) - 1, .base = (uint64_t)(uintptr_t)idt};
  __asm__ volatile("lidt %0" : : "m"(pointer) : "memory");
}

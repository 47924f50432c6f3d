/* The test guests' runtime: port and MMIO access, the COM1 console, a small formatter, the
 * command line, ACPI CPU discovery, reset and halt. Freestanding C, no libc. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- port I/O ---- */
static inline void outb(uint16_t port, uint8_t value) {
  __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}
static inline void outw(uint16_t port, uint16_t value) {
  __asm__ volatile("outw %0, %1" : : "a"(value), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t value) {
  __asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(port));
}
static inline uint8_t inb(uint16_t port) {
  uint8_t value;
  __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
  return value;
}
static inline uint16_t inw(uint16_t port) {
  uint16_t value;
  __asm__ volatile("inw %1, %0" : "=a"(value) : "Nd"(port));
  return value;
}
static inline uint32_t inl(uint16_t port) {
  uint32_t value;
  __asm__ volatile("inl %1, %0" : "=a"(value) : "Nd"(port));
  return value;
}

/* ---- physical memory (identity mapped below 4 GiB) ---- */
/* Hides the constant from the compiler, which otherwise treats small constant addresses
 * as offsets from NULL and warns about them. */
static inline void* phys_ptr(uint64_t addr) {
  __asm__("" : "+r"(addr));
  return (void*)(uintptr_t)addr;
}
static inline uint8_t mmio_read8(uint64_t a) { return *(volatile uint8_t*)phys_ptr(a); }
static inline uint16_t mmio_read16(uint64_t a) { return *(volatile uint16_t*)phys_ptr(a); }
static inline uint32_t mmio_read32(uint64_t a) { return *(volatile uint32_t*)phys_ptr(a); }
static inline uint64_t mmio_read64(uint64_t a) { return *(volatile uint64_t*)phys_ptr(a); }
static inline void mmio_write8(uint64_t a, uint8_t v) { *(volatile uint8_t*)phys_ptr(a) = v; }
static inline void mmio_write16(uint64_t a, uint16_t v) { *(volatile uint16_t*)phys_ptr(a) = v; }
static inline void mmio_write32(uint64_t a, uint32_t v) { *(volatile uint32_t*)phys_ptr(a) = v; }
static inline void mmio_write64(uint64_t a, uint64_t v) { *(volatile uint64_t*)phys_ptr(a) = v; }

/* ---- CPU ---- */
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline uint64_t rdtsc(void) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}
static inline uint64_t read_cr3(void) {
  uint64_t value;
  __asm__ volatile("mov %%cr3, %0" : "=r"(value));
  return value;
}
/* cli; hlt forever: the end of an AP, or of a guest whose reset did not happen. */
__attribute__((noreturn)) void guest_halt_forever(void);
/* i8042 reset (0xFE to port 0x64): the monitor exits 0, QEMU -no-reboot exits. */
__attribute__((noreturn)) void guest_reset(void);

/* ---- COM1 console (16550A at 0x3f8) ---- */
#define COM1 0x3f8
void serial_putc(char c);  /* waits (bounded) for THR empty, then writes */
void serial_write(const char* s, size_t len);
bool serial_try_getc(char* out);  /* true when a received byte was waiting */

/* %s %c %d %i %u %x %X %p %%, with optional '0' and width, and l / ll / z lengths. */
void guest_printf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void guest_vprintf(const char* fmt, va_list args);

/* ---- command line ---- */
/* The whole command line as the loader gave it ("" when there is none). */
const char* cmdline_raw(void);
/* Value of the first "key=value" word, "" for a bare "key", NULL when absent. */
const char* cmdline_get(const char* key);
/* Decimal or 0x-hex value of key; fallback when absent or malformed. */
uint64_t cmdline_get_u64(const char* key, uint64_t fallback);

/* ---- ACPI ---- */
#define ACPI_MAX_CPUS 32
struct acpi_cpus {
  uint32_t count;                    /* enabled Processor Local APIC entries */
  uint8_t apic_ids[ACPI_MAX_CPUS];
};
/* Finds RSDP -> XSDT (or RSDT) -> MADT, checking signatures and checksums. Returns NULL on
 * success, else a message saying what was missing or malformed. */
const char* acpi_find_cpus(struct acpi_cpus* out);

/* ---- exceptions (optional: only guests that call this get an IDT) ---- */
struct exception_frame {
  uint64_t r11, r10, r9, r8, rdi, rsi, rdx, rcx, rax;  /* saved by the stub */
  uint64_t vector, error_code;
  uint64_t rip, cs, rflags, rsp, ss;                   /* pushed by the CPU */
};
typedef void (*exception_handler)(struct exception_frame* frame);
/* Loads an IDT whose vectors 0..31 call handler; returning from it resumes with iretq. */
void exceptions_install(exception_handler handler);

/* ---- small libc pieces the compiler may call ---- */
void* memset(void* dst, int c, size_t n);
void* memcpy(void* dst, const void* src, size_t n);
void* memmove(void* dst, const void* src, size_t n);
int memcmp(const void* a, const void* b, size_t n);
size_t strlen(const char* s);

/* Each guest defines this; returning from it resets the machine. */
void guest_main(void);

/* ---- runtime internals (start-up order: guest_runtime_init, then guest_main) ---- */
void guest_runtime_init(void);
void cmdline_init(void);
void serial_init(void);
